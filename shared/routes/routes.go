// Package routes is the one table of the HTTP paths this backend answers:
// the OpenFaaS paths /function/<name>, and the original backend's routes
// at / and under /api. The local gateway serves it and the Ingress
// manifest is checked against it.
package routes

import (
	"net/http"
	"strings"
)

// Functions are the deployed functions, by name.
var Functions = []string{"register", "login", "refresh", "logout", "presign", "list", "analyze", "report", "results"}

// APIPrefix is where today's client expects the API (its base URL ends in
// /api); the original routes also work without it.
const APIPrefix = "/api"

// Route maps an original path and method to a function.
type Route struct {
	Method   string
	Path     string
	Function string
}

// Legacy are the original backend's routes.
var Legacy = []Route{
	{http.MethodPost, "/auth/register", "register"},
	{http.MethodPost, "/auth/password", "login"},
	{http.MethodPost, "/auth/login", "login"},
	{http.MethodPost, "/auth/refresh", "refresh"},
	{http.MethodPost, "/auth/logout", "logout"},
	{http.MethodPost, "/storage/presign/upload", "presign"},
	{http.MethodGet, "/storage/presign/download", "presign"},
	{http.MethodGet, "/storage/list", "list"},
	{http.MethodPost, "/minio-event", "analyze"},
	{http.MethodGet, "/report", "report"},
}

// Prefixes are routes that take their path and every path below it; the
// function gets the whole path (without /api) and routes it itself.
var Prefixes = []Route{
	{http.MethodGet, "/results", "results"},
}

// Whole are exact routes whose function also gets the whole path.
var Whole = []Route{
	{http.MethodGet, "/openapi.json", "results"},
}

// Builtin routes are answered by the gateway itself.
const (
	Hello  = "hello"  // GET / -> {"message":"Hello World"}
	Health = "health" // GET /healthz -> {"status":"ok"} or 503
	// Storage is the same-origin path to object storage for browsers: PUT
	// StoragePrefix + the path and query of a presigned URL. The report
	// page uploads through it, so its CSP keeps connect-src 'self'.
	Storage = "storage"
)

// StoragePrefix is where Storage answers (also under /api).
const StoragePrefix = "/storage/objects/"

// Target is what a request resolves to: a function or a builtin.
type Target struct {
	Function string
	Builtin  string
}

// Resolve maps a request to its target. The status is 200 when found,
// 404 for an unknown path and 405 for a known path with another method.
func Resolve(method, path string) (Target, int) {
	if p, ok := strings.CutPrefix(path, APIPrefix); ok && (p == "" || p[0] == '/') {
		path = p
		if path == "" {
			path = "/"
		}
	}
	if rest, ok := strings.CutPrefix(path, "/function/"); ok {
		name, _, _ := strings.Cut(rest, "/")
		for _, f := range Functions {
			if f == name {
				return Target{Function: f}, http.StatusOK
			}
		}
		return Target{}, http.StatusNotFound
	}
	if strings.HasPrefix(path, StoragePrefix) && len(path) > len(StoragePrefix) {
		if method != http.MethodPut {
			return Target{}, http.StatusMethodNotAllowed
		}
		return Target{Builtin: Storage}, http.StatusOK
	}
	switch path {
	case "/":
		return builtin(method, Hello)
	case "/healthz":
		return builtin(method, Health)
	}
	known := false
	for _, r := range Legacy {
		if r.Path == path {
			if r.Method == method {
				return Target{Function: r.Function}, http.StatusOK
			}
			known = true
		}
	}
	for _, r := range Prefixes {
		if path == r.Path || strings.HasPrefix(path, r.Path+"/") {
			if r.Method == method {
				return Target{Function: r.Function}, http.StatusOK
			}
			known = true
		}
	}
	for _, r := range Whole {
		if path == r.Path {
			if r.Method == method {
				return Target{Function: r.Function}, http.StatusOK
			}
			known = true
		}
	}
	if known {
		return Target{}, http.StatusMethodNotAllowed
	}
	return Target{}, http.StatusNotFound
}

func builtin(method, name string) (Target, int) {
	if method != http.MethodGet {
		return Target{}, http.StatusMethodNotAllowed
	}
	return Target{Builtin: name}, http.StatusOK
}

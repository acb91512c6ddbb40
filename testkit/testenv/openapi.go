package testenv

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/benchwrap/backend/shared/routes"
)

// APIValidator checks live requests and answers against the OpenAPI
// document (routes.OpenAPI) and records which operations were exercised.
type APIValidator struct {
	router routers.Router
	doc    *openapi3.T
	mu     sync.Mutex
	seen   map[string]bool // "METHOD /path/template"
}

// NewAPIValidator loads and validates the document.
func NewAPIValidator(tb testing.TB) *APIValidator {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(routes.OpenAPI)
	if err != nil {
		tb.Fatalf("openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi.json is not valid: %v", err)
	}
	for _, ct := range []string{routes.ParquetContentType, "text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	// Validate against the paths alone: the servers are relative.
	doc.Servers = nil
	r, err := legacy.NewRouter(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return &APIValidator{router: r, doc: doc, seen: map[string]bool{}}
}

// Do sends req with client, checks request and answer against the
// document, and returns the answer with its body read.
func (v *APIValidator) Do(tb testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		tb.Fatal(err)
	}
	v.Check(tb, req, resp.StatusCode, resp.Header, body)
	return resp, body
}

// Check validates one exchange. The path is matched without /api and
// /function/<name> prefixes the document does not spell out.
func (v *APIValidator) Check(tb testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	tb.Helper()
	r := req.Clone(context.Background())
	p := strings.TrimPrefix(r.URL.Path, routes.APIPrefix)
	if p == "" {
		p = "/"
	}
	p = documentedPath(req.Method, p)
	r.URL.Path, r.URL.RawPath, r.URL.Scheme, r.URL.Host = p, "", "", ""
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		// A path the document does not know must not be answered.
		if status != 404 && status != 405 {
			tb.Errorf("%s %s: not in openapi.json, yet answered %d: %v", req.Method, req.URL.Path, status, err)
		}
		return
	}
	v.mu.Lock()
	v.seen[req.Method+" "+route.Path] = true
	v.mu.Unlock()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, ExcludeRequestBody: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	// A request the document rejects must be refused; one it accepts
	// may still be refused for reasons it cannot express.
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && status < 400 {
		tb.Errorf("%s %s: request does not match openapi.json, yet answered %d: %v", req.Method, req.URL.Path, status, err)
	}
	// net/http itself refuses some requests (431, malformed ones) in plain
	// text before any function sees them: not the API's answer.
	if status >= 400 && strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		return
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		tb.Errorf("%s %s -> %d: answer does not match openapi.json: %v", req.Method, req.URL.Path, status, err)
	}
}

// documentedPath maps an OpenFaaS path (/function/<name>/...) to the
// route the document describes: the results function's own paths are its
// /results paths; another function's is its original route for the method.
func documentedPath(method, p string) string {
	rest, ok := strings.CutPrefix(p, "/function/")
	if !ok {
		return p
	}
	name, sub, _ := strings.Cut(rest, "/")
	sub = "/" + sub
	if name == "results" {
		if sub == "/openapi.json" || strings.HasPrefix(sub, "/results") {
			return sub
		}
		return strings.TrimSuffix("/results"+sub, "/")
	}
	switch sub {
	case "/hello":
		return "/"
	case "/healthz":
		return "/healthz"
	case "/":
		for _, r := range routes.Legacy {
			if r.Function == name && r.Method == method {
				return r.Path
			}
		}
	}
	return p
}

// Missing lists the document's operations not exercised yet whose path
// starts with one of the prefixes (all when none given).
func (v *APIValidator) Missing(prefixes ...string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			k := method + " " + path
			if v.seen[k] || !hasPrefix(path, prefixes) {
				continue
			}
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func hasPrefix(p string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, x := range prefixes {
		if strings.HasPrefix(p, x) {
			return true
		}
	}
	return false
}

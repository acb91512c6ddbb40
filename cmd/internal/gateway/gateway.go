// Package gateway serves the functions in one process the way the
// OpenFaaS gateway does (/function/<name>), plus the original backend's
// routes at / and under /api, for the local stack and the tests.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/routes"
)

// Gateway routes requests to function handlers.
type Gateway struct {
	handlers map[string]http.Handler
	health   func(ctx context.Context) (component string, err error)
	storage  http.Handler
}

// New returns a gateway for the given functions (name -> Handle), each
// under its policy (as its deployed binary is), and health check.
func New(functions map[string]fnhttp.HandleFunc, policies map[string]fnhttp.Policy, health func(context.Context) (string, error)) *Gateway {
	g := &Gateway{handlers: map[string]http.Handler{}, health: health}
	for name, fn := range functions {
		g.handlers[name] = policies[name].Handler(fn)
	}
	return g
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, status := routes.Resolve(r.Method, r.URL.Path)
	switch {
	case status == http.StatusMethodNotAllowed:
		fnhttp.Write(w, fnhttp.JSON(status, fnhttp.Detail{Detail: "Method Not Allowed"}))
	case status != http.StatusOK:
		fnhttp.Write(w, fnhttp.JSON(http.StatusNotFound, fnhttp.Detail{Detail: "Not Found"}))
	case target.Builtin == routes.Hello:
		fnhttp.Write(w, fnhttp.JSON(http.StatusOK, map[string]string{"message": "Hello World"}))
	case target.Builtin == routes.Health:
		g.serveHealth(w, r)
	case target.Builtin == routes.Storage && g.storage != nil:
		g.storage.ServeHTTP(w, r)
	case target.Builtin == routes.Storage:
		fnhttp.Write(w, fnhttp.JSON(http.StatusNotFound, fnhttp.Detail{Detail: "Not Found"}))
	default:
		h, ok := g.handlers[target.Function]
		if !ok {
			fnhttp.Write(w, fnhttp.JSON(http.StatusNotFound, fnhttp.Detail{Detail: "Not Found"}))
			return
		}
		h.ServeHTTP(w, r)
	}
}

func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	component, err := g.health(r.Context())
	if err != nil {
		slog.WarnContext(r.Context(), "health check failed", "component", component, "error", err)
		fnhttp.Write(w, fnhttp.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "component": component}))
		return
	}
	fnhttp.Write(w, fnhttp.JSON(http.StatusOK, map[string]string{"status": "ok"}))
}

// ProxyStorage answers routes.Storage: a PUT to the prefix plus the path
// and query of a URL presigned for base (MinIO's public endpoint, e.g.
// http://127.0.0.1:9000) is forwarded there unchanged, with base's host as
// Host so the signature holds. Only presigned requests pass; the caller's
// cookies and Authorization header never reach storage.
func (g *Gateway) ProxyStorage(base *url.URL) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			p := pr.In.URL.Path
			p = strings.TrimPrefix(p, routes.APIPrefix)
			p = "/" + strings.TrimPrefix(p, routes.StoragePrefix)
			pr.SetURL(base)
			pr.Out.URL.Path, pr.Out.URL.RawPath = p, ""
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del("Origin")
			pr.Out.Header.Del("Referer")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			slog.WarnContext(r.Context(), "storage proxy", "error", err)
			fnhttp.Write(w, fnhttp.JSON(http.StatusBadGateway, fnhttp.Detail{Detail: "Storage unavailable."}))
		},
	}
	g.storage = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("X-Amz-Signature") == "" {
			fnhttp.Write(w, fnhttp.JSON(http.StatusForbidden, fnhttp.Detail{Detail: "Presigned URL required."}))
			return
		}
		rp.ServeHTTP(w, r)
	})
}

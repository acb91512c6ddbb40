// Package gateway serves the functions in one process the way the
// OpenFaaS gateway does (/function/<name>), plus the original backend's
// routes at / and under /api, for the local stack and the tests.
package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/routes"
)

// Gateway routes requests to function handlers.
type Gateway struct {
	handlers map[string]http.Handler
	health   func(ctx context.Context) (component string, err error)
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

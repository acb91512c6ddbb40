package fnhttp

// The entry point of a function binary built from the OpenFaaS templates
// in template/: the gateway forwards /function/<name>/<rest> as /<rest>.
// A few reserved paths are answered here, so that the Ingress can map the
// original backend's builtins onto a function; every other path goes to
// the function's Handle, which never sees the path:
//
//	GET /hello    200 {"message":"Hello World"}          (the original GET /)
//	GET /healthz  200 {"status":"ok"}: liveness; the process serves, no dependency is checked
//	GET /livez    the same (an alias)
//	GET /readyz   readiness: PostgreSQL, migrations and MinIO reachable, not shutting down (lifecycle.go)

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/logging"
)

// Reserved paths; keep deploy/ingress.yaml in step.
const (
	HelloPath  = "/hello"
	HealthPath = "/healthz"
	LivePath   = "/livez"
)

// DefaultPort is the of-watchdog's usual upstream port in mode=http.
const DefaultPort = "8082"

// Function is one function as its constructor builds it on the process's
// wiring: the handler, the checks before it (Policy) and the readiness
// check (nil: ready whenever the process serves).
type Function struct {
	Handle HandleFunc
	Policy Policy
	Ready  func(context.Context) (component string, err error)
}

// Main runs a function binary: build (the function's constructor on a
// freshly built application) gives the function; Main serves it on the
// -listen address (the of-watchdog's upstream in mode=http), else on
// :$PORT (Knative), else on :8082, answering the reserved paths itself,
// and finishes the requests in flight on SIGTERM; /metrics is served on
// METRICS_ADDR. It refuses to start when build fails (a bad setting) or a
// secret of the policy is missing; the server's limits come from the
// HTTP_* settings (ServerSettings).
func Main(build func() (Function, error)) {
	listen := flag.String("listen", "", "address to listen on (default :$PORT, else :"+DefaultPort+")")
	flag.Parse()
	logging.Setup()

	fn, err := build()
	if err != nil {
		slog.Error("refusing to start: fix these settings", "error", err)
		os.Exit(2)
	}
	if err := config.CheckSecrets(fn.Policy.Secrets...); err != nil {
		slog.Error("refusing to start: fix these secrets", "error", err)
		os.Exit(1)
	}
	srv, err := NewServer(Mux(fn.Policy.Handler(fn.Handle), fn.Ready))
	if err != nil {
		slog.Error("settings", "error", err)
		os.Exit(2)
	}
	addr := listenAddr(*listen, os.Getenv("PORT"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		slog.Error("listen", "addr", addr, "error", err)
		os.Exit(1)
	}
	lc, err := LoadLifecycle()
	if err != nil {
		slog.Error("settings", "error", err)
		os.Exit(2)
	}
	ms := listenMetrics(lc)
	defer ms.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	slog.Info("listening", "addr", ln.Addr().String())
	// The watchdog and Knative send SIGTERM and wait a grace period:
	// readiness fails, then the requests in flight finish (lifecycle.go).
	err = serve(srv, ln, ctx.Done(), lc)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("serve", "error", err)
		ms.Close()
		os.Exit(1)
	}
}

// listenAddr picks the address: the -listen flag, else :$PORT, else the
// default upstream port.
func listenAddr(flagValue, port string) string {
	switch {
	case flagValue != "":
		return flagValue
	case port != "":
		return ":" + port
	}
	return ":" + DefaultPort
}

// Mux answers the reserved paths and passes every other request to fn.
// ping is the readiness check: it reports the failing dependency, as
// app.App.Ping does; nil checks none.
func Mux(fn http.Handler, ping func(context.Context) (string, error)) http.Handler {
	ok := map[string]string{"status": "ok"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case HelloPath:
			if getOnly(w, r) {
				Write(w, JSON(http.StatusOK, map[string]string{"message": "Hello World"}))
			}
		case LivePath, HealthPath:
			if getOnly(w, r) {
				Write(w, JSON(http.StatusOK, ok))
			}
		case ReadyPath:
			if getOnly(w, r) {
				readiness(w, r, ping)
			}
		default:
			fn.ServeHTTP(w, r)
		}
	})
}

// getOnly answers 405 to anything but GET, as the local gateway does for
// the builtins, and reports whether to go on.
func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet {
		return true
	}
	resp := JSON(http.StatusMethodNotAllowed, Detail{Detail: "Method Not Allowed"})
	resp.Header.Set("Allow", "GET")
	Write(w, resp)
	return false
}

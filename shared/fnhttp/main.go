package fnhttp

// The entry point of a function binary built from the OpenFaaS templates
// in template/: the gateway forwards /function/<name>/<rest> as /<rest>.
// A few reserved paths are answered here, so that the Ingress can map the
// original backend's builtins onto a function; every other path goes to
// the function's Handle, which never sees the path:
//
//	GET /hello    200 {"message":"Hello World"}          (the original GET /)
//	GET /healthz  200 {"status":"ok"}, or 503 {"status":"unavailable","component":...}
//	GET /livez    200 {"status":"ok"}: the process serves; no dependency is checked

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
	"time"

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

// Main runs a function binary: it serves handle on the -listen address
// (the of-watchdog's upstream in mode=http), else on :$PORT (Knative),
// else on :8082, answering the reserved paths itself, and finishes the
// requests in flight on SIGTERM. ping is the dependency health check;
// policy is the function's (methods, caller, body cap; see Policy), and
// the server's limits come from the HTTP_* settings (ServerSettings).
func Main(handle HandleFunc, ping func(context.Context) (string, error), policy Policy) {
	listen := flag.String("listen", "", "address to listen on (default :$PORT, else :"+DefaultPort+")")
	flag.Parse()
	logging.Setup()

	if err := config.CheckSecrets(policy.Secrets...); err != nil {
		slog.Error("refusing to start: fix these secrets", "error", err)
		os.Exit(1)
	}
	srv, err := NewServer(Mux(policy.Handler(handle), ping))
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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	slog.Info("listening", "addr", ln.Addr().String())

	select {
	case err = <-done:
	case <-ctx.Done():
		// The watchdog and Knative send SIGTERM and wait a grace period:
		// finish the requests in flight.
		shutdown, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("serve", "error", err)
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
// ping reports the failing dependency, as app.Ping does.
func Mux(fn http.Handler, ping func(context.Context) (string, error)) http.Handler {
	ok := map[string]string{"status": "ok"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case HelloPath:
			if getOnly(w, r) {
				Write(w, JSON(http.StatusOK, map[string]string{"message": "Hello World"}))
			}
		case LivePath:
			if getOnly(w, r) {
				Write(w, JSON(http.StatusOK, ok))
			}
		case HealthPath:
			if !getOnly(w, r) {
				return
			}
			if component, err := ping(r.Context()); err != nil {
				slog.WarnContext(r.Context(), "health check failed", "component", component, "error", err)
				Write(w, JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "component": component}))
				return
			}
			Write(w, JSON(http.StatusOK, ok))
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

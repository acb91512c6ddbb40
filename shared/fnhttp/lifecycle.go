package fnhttp

// The life of a function process after start-up: readiness, and the
// shutdown the watchdog or Knative asks for with SIGTERM.
//
//	GET /readyz  200 {"status":"ok"}; 503 {"status":"unavailable","component":...} when a
//	             dependency (PostgreSQL, migrations, MinIO) is not ready, or
//	             503 {"status":"shutting down"} once SIGTERM arrived
//
// On SIGTERM: /readyz turns 503 at once, so the platform stops routing
// here; the OnShutdown hooks start (queue workers stop claiming jobs and
// finish or hand back theirs); for SHUTDOWN_DELAY the server still takes
// requests that were already on their way; then it stops accepting and
// waits for the requests in flight and the hooks, all within
// SHUTDOWN_GRACE, and the process exits.

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/metrics"
)

// ReadyPath is the readiness path.
const ReadyPath = "/readyz"

// Lifecycle are the process settings of a function binary.
type Lifecycle struct {
	// MetricsAddr serves /metrics, apart from the function's port so the
	// gateway never exposes it; "off" disables it.
	MetricsAddr string `envconfig:"METRICS_ADDR" default:":9102"`
	// ShutdownDelay: how long after SIGTERM new requests are still taken
	// while the endpoints are removed (readiness already fails).
	ShutdownDelay config.Duration `envconfig:"SHUTDOWN_DELAY" default:"5s"`
	// ShutdownGrace bounds the whole shutdown; keep it below the
	// platform's terminationGracePeriodSeconds (30 s by default).
	ShutdownGrace config.Duration `envconfig:"SHUTDOWN_GRACE" default:"25s"`
}

// LoadLifecycle reads the settings.
func LoadLifecycle() (Lifecycle, error) {
	var l Lifecycle
	err := config.Load(&l)
	return l, err
}

var (
	draining atomic.Bool
	hooksMu  sync.Mutex
	hooks    []func(context.Context)
)

// Draining reports whether the process is shutting down: work sources
// (queue workers) stop taking new work.
func Draining() bool { return draining.Load() }

// OnShutdown registers f to run when shutdown starts, concurrently with
// the end of the requests in flight. f must return by ctx's deadline (the
// grace period): finish the work in hand or hand it back.
func OnShutdown(f func(ctx context.Context)) {
	hooksMu.Lock()
	hooks = append(hooks, f)
	hooksMu.Unlock()
}

// Shutdown starts the shutdown of a process that serves functions in
// its own way (the local stack): readiness fails, the hooks run; it
// returns when they are done or ctx ends.
func Shutdown(ctx context.Context) {
	select {
	case <-startShutdown(ctx):
	case <-ctx.Done():
	}
}

// startShutdown marks the process draining and starts the hooks; the
// returned channel closes when they have all returned.
func startShutdown(ctx context.Context) <-chan struct{} {
	draining.Store(true)
	hooksMu.Lock()
	hs := append([]func(context.Context){}, hooks...)
	hooksMu.Unlock()
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() { h(ctx) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// serve runs srv on ln until stop closes, then shuts down as described at
// the top of this file.
func serve(srv *http.Server, ln net.Listener, stop <-chan struct{}, lc Lifecycle) error {
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-stop:
	}
	start := time.Now()
	slog.Info("shutting down", "delay", lc.ShutdownDelay.D().String(), "grace", lc.ShutdownGrace.D().String())
	ctx, cancel := context.WithTimeout(context.Background(), lc.ShutdownGrace.D())
	defer cancel()
	hooksDone := startShutdown(ctx)

	delay := min(lc.ShutdownDelay.D(), lc.ShutdownGrace.D())
	select {
	case <-time.After(delay):
	case err := <-done:
		return err
	}
	err := srv.Shutdown(ctx)
	select {
	case <-hooksDone:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		slog.Error("shutdown: grace period over; work still in flight is cut", "grace", lc.ShutdownGrace.D().String())
		_ = srv.Close()
	} else {
		slog.Info("shut down", "seconds", time.Since(start).Seconds())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // logged above
	}
	return err
}

// readiness answers /readyz: ping's verdict, or 503 while shutting down.
func readiness(w http.ResponseWriter, r *http.Request, ping func(context.Context) (string, error)) {
	if Draining() {
		Write(w, JSON(http.StatusServiceUnavailable, map[string]string{"status": "shutting down"}))
		return
	}
	if ping != nil {
		if component, err := ping(r.Context()); err != nil {
			slog.WarnContext(r.Context(), "readiness check failed", "component", component, "error", err)
			Write(w, JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "component": component}))
			return
		}
	}
	Write(w, JSON(http.StatusOK, map[string]string{"status": "ok"}))
}

// listenMetrics serves /metrics on the settings' address. A function
// still serves when the port is taken: the log says so.
func listenMetrics(lc Lifecycle) *metrics.Server {
	ms, err := metrics.Listen(lc.MetricsAddr)
	if err != nil {
		slog.Error("metrics not served", "error", err)
		return nil
	}
	if ms != nil {
		slog.Info("metrics", "url", ms.URL())
	}
	return ms
}

// methodLabel keeps the method label of the request metrics to the
// routes' methods: anything else is "other".
func methodLabel(routes Routes, method string) string {
	if _, ok := routes[method]; ok {
		return method
	}
	return "other"
}

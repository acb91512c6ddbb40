package fnhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/benchwrap/backend/shared/metrics"
)

func TestListenAddr(t *testing.T) {
	for _, c := range []struct{ flag, port, want string }{
		{"127.0.0.1:8082", "8080", "127.0.0.1:8082"}, // behind the watchdog: -listen wins over Knative's PORT
		{"", "9000", ":9000"},
		{"", "", ":8082"},
	} {
		if got := listenAddr(c.flag, c.port); got != c.want {
			t.Errorf("listenAddr(%q, %q) = %q, want %q", c.flag, c.port, got, c.want)
		}
	}
}

func TestMuxReservedPaths(t *testing.T) {
	fn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "function") })
	healthy := func(context.Context) (string, error) { return "", nil }
	down := func(context.Context) (string, error) { return "postgres", errors.New("refused") }
	for _, c := range []struct {
		method, path string
		ping         func(context.Context) (string, error)
		status       int
		body         string
	}{
		{"GET", "/hello", healthy, 200, `{"message":"Hello World"}`},
		{"GET", "/livez", down, 200, `{"status":"ok"}`},
		{"GET", "/healthz", down, 200, `{"status":"ok"}`}, // liveness: no dependency
		{"GET", "/readyz", healthy, 200, `{"status":"ok"}`},
		{"GET", "/readyz", down, 503, `{"component":"postgres","status":"unavailable"}`},
		{"POST", "/readyz", healthy, 405, `{"detail":"Method Not Allowed"}`},
		{"POST", "/hello", healthy, 405, `{"detail":"Method Not Allowed"}`},
		{"GET", "/", healthy, 200, "function"},
		{"POST", "/anything", healthy, 200, "function"},
	} {
		rec := httptest.NewRecorder()
		Mux(fn, c.ping).ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || rec.Body.String() != c.body {
			t.Errorf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
}

// TestLifecycleDefaults: the metrics port the manifests scrape is the
// default of METRICS_ADDR.
func TestLifecycleDefaults(t *testing.T) {
	for _, k := range []string{"METRICS_ADDR", "SHUTDOWN_DELAY", "SHUTDOWN_GRACE"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	lc, err := LoadLifecycle()
	if err != nil {
		t.Fatal(err)
	}
	if lc.MetricsAddr != metrics.DefaultAddr || lc.ShutdownDelay.D() >= lc.ShutdownGrace.D() {
		t.Errorf("defaults %+v", lc)
	}
}

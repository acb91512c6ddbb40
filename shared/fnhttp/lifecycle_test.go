package fnhttp

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/metrics"
)

// TestShutdown: after the stop signal readiness fails at once, a request
// in flight finishes and is answered, the hooks run, and serve returns
// within the grace period. Not parallel: the draining state is the
// process's.
func TestShutdown(t *testing.T) {
	t.Cleanup(func() { draining.Store(false); hooks = nil })
	release := make(chan struct{})
	slow := func(req handler.Request) (handler.Response, error) {
		return Serve("slow", req, Routes{http.MethodPost: func(ctx context.Context, r *Request) (handler.Response, error) {
			<-release
			return JSON(http.StatusOK, map[string]string{"done": "yes"}), nil
		}})
	}
	var hookRan atomic.Bool
	OnShutdown(func(ctx context.Context) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("hook context has no deadline")
		}
		hookRan.Store(true)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: Mux(Handler(slow, 0), func(context.Context) (string, error) { return "", nil })}
	stop := make(chan struct{})
	served := make(chan error, 1)
	lc := Lifecycle{ShutdownDelay: config.Duration(300 * time.Millisecond), ShutdownGrace: config.Duration(5 * time.Second)}
	go func() { served <- serve(srv, ln, stop, lc) }()

	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(ReadyPath); s != 200 {
		t.Fatalf("ready before shutdown: %d", s)
	}
	inflight := make(chan string, 1)
	go func() {
		resp, err := http.Post(base+"/", "application/json", strings.NewReader("{}"))
		if err != nil {
			inflight <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- resp.Status + " " + string(b)
	}()
	time.Sleep(100 * time.Millisecond) // the request is in flight
	close(stop)
	time.Sleep(50 * time.Millisecond)
	if s := get(ReadyPath); s != http.StatusServiceUnavailable {
		t.Errorf("ready during shutdown: %d, want 503", s)
	}
	if s := get(HealthPath); s != 200 {
		t.Errorf("live during shutdown: %d, want 200", s)
	}
	select {
	case err := <-served:
		t.Fatalf("serve returned with a request in flight: %v", err)
	case <-time.After(400 * time.Millisecond): // past the delay: no new connections, still waiting
	}
	close(release)
	if got := <-inflight; got != `200 OK {"done":"yes"}` {
		t.Errorf("in-flight request: %s", got)
	}
	select {
	case err := <-served:
		if err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return")
	}
	if !hookRan.Load() {
		t.Error("OnShutdown hook did not run")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

// TestRequestMetrics: Serve counts requests by function, method and
// status; unknown methods share one label.
func TestRequestMetrics(t *testing.T) {
	h := Handler(func(req handler.Request) (handler.Response, error) {
		return Serve("metricstest", req, Routes{http.MethodGet: func(context.Context, *Request) (handler.Response, error) {
			return JSON(http.StatusOK, map[string]string{}), nil
		}})
	}, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	for _, m := range []string{"GET", "GET", "BREW"} {
		req, _ := http.NewRequest(m, "http://"+ln.Addr().String()+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	ms, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	resp, err := http.Get(ms.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`benchwrap_http_requests_total{function="metricstest",method="GET",status="200"} 2`,
		`benchwrap_http_requests_total{function="metricstest",method="other",status="405"} 1`,
		`benchwrap_http_request_duration_seconds_count{function="metricstest",method="GET"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

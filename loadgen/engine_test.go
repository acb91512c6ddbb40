package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func run(t *testing.T, o Options) *Result {
	t.Helper()
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r.Run(context.Background())
}

func TestClosedModelCounts(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	tests := []struct {
		name            string
		engine          Engine
		requests        int64
		groups, workers int
	}{
		{"fast even split", EngineFast, 1000, 2, 5},
		{"fast uneven split", EngineFast, 997, 3, 4},
		{"fast more workers than requests", EngineFast, 5, 2, 8},
		{"std", EngineStd, 500, 2, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			res := run(t, Options{
				URL: mustParse(t, srv.URL), Requests: tc.requests, Groups: tc.groups, Workers: tc.workers,
				Timeout: 5 * time.Second, Engine: tc.engine,
			})
			if res.Count != tc.requests || res.OK != tc.requests || res.Fail() != 0 || hits.Load() != tc.requests {
				t.Fatalf("count %d ok %d fail %d server hits %d, want %d each", res.Count, res.OK, res.Fail(), hits.Load(), tc.requests)
			}
			if res.Status[200] != tc.requests || uint64(tc.requests) != res.Latency.Count() {
				t.Errorf("status %v, latency count %d", res.Status, res.Latency.Count())
			}
			if res.Protocol != "HTTP/1.1" || res.Elapsed <= 0 {
				t.Errorf("protocol %q elapsed %v", res.Protocol, res.Elapsed)
			}
		})
	}
}

// statusServer answers 200, 201, 404, 503 in turn.
func statusServer() *httptest.Server {
	var n atomic.Int64
	codes := []int{200, 201, 404, 503}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(codes[(n.Add(1)-1)%4])
	}))
}

func TestStatusClassification(t *testing.T) {
	srv := statusServer()
	defer srv.Close()
	tests := []struct {
		ok     string
		wantOK int64
	}{
		{"", 100}, // default: 200 only
		{"200,201", 200},
		{"2xx", 200},
		{"200-599", 400},
		{"404", 100},
	}
	for _, tc := range tests {
		for _, engine := range []Engine{EngineFast, EngineStd} {
			t.Run(tc.ok+"/"+string(engine), func(t *testing.T) {
				var set StatusSet
				if tc.ok != "" {
					var err error
					if set, err = ParseStatusSet(tc.ok); err != nil {
						t.Fatal(err)
					}
				}
				res := run(t, Options{URL: mustParse(t, srv.URL), Requests: 400, Groups: 1, Workers: 1,
					Timeout: 5 * time.Second, OK: set, Engine: engine})
				if res.OK != tc.wantOK || res.Fail() != 400-tc.wantOK {
					t.Errorf("ok %d fail %d, want %d/%d", res.OK, res.Fail(), tc.wantOK, 400-tc.wantOK)
				}
				for _, c := range []int{200, 201, 404, 503} {
					if res.Status[c] != 100 {
						t.Errorf("status %d seen %d times, want 100", c, res.Status[c])
					}
				}
			})
		}
	}
}

func TestTransportErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		url      string
		engine   Engine
		wantKind string
	}{
		{"fast timeout", slow.URL, EngineFast, "timeout"},
		{"std timeout", slow.URL, EngineStd, "timeout"},
		{"fast refused", closedURL, EngineFast, "connection refused"},
		{"std refused", closedURL, EngineStd, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := run(t, Options{URL: mustParse(t, tc.url), Requests: 4, Groups: 2, Workers: 2,
				Timeout: 100 * time.Millisecond, Engine: tc.engine})
			if res.Count != 4 || res.OK != 0 || res.Errors[tc.wantKind] != 4 {
				t.Fatalf("count %d ok %d errors %v, want 4 %q", res.Count, res.OK, res.Errors, tc.wantKind)
			}
			if res.Latency.Count() != 0 {
				t.Errorf("failed requests must not count as latencies")
			}
			if res.Samples[tc.wantKind] == "" {
				t.Errorf("no sample message for %q", tc.wantKind)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("took %v with a 100ms timeout", d)
			}
		})
	}
}

func TestDurationStopsRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res := run(t, Options{URL: mustParse(t, srv.URL), Duration: 300 * time.Millisecond, Groups: 2, Workers: 2,
		Timeout: time.Second})
	if res.Count == 0 || res.Fail() != 0 {
		t.Fatalf("count %d fail %d", res.Count, res.Fail())
	}
	if res.Elapsed < 300*time.Millisecond || res.Elapsed > 800*time.Millisecond {
		t.Errorf("elapsed %v for a 300ms run", res.Elapsed)
	}
}

func TestRequestsAndDurationWhicheverFirst(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res := run(t, Options{URL: mustParse(t, srv.URL), Requests: 50, Duration: 10 * time.Second, Groups: 1, Workers: 2,
		Timeout: time.Second})
	if res.Count != 50 || res.Elapsed > 5*time.Second {
		t.Errorf("count %d elapsed %v: the request limit should end the run", res.Count, res.Elapsed)
	}
}

// The open model must hold its rate: 10 s at 1000 req/s within 2%.
func TestOpenModelRateAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s test")
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	const rate = 1000
	res := run(t, Options{URL: mustParse(t, srv.URL), Rate: rate, Duration: 10 * time.Second, Groups: 2, Workers: 8,
		Timeout: 2 * time.Second})
	got := float64(res.Count) / res.Elapsed.Seconds()
	t.Logf("%d requests in %v: %.1f req/s (target %d), max start lag %v", res.Count, res.Elapsed, got, rate, res.MaxStartLag)
	if res.Count != 10*rate || hits.Load() != 10*rate {
		t.Errorf("sent %d (server saw %d), want %d", res.Count, hits.Load(), 10*rate)
	}
	if got < rate*0.98 || got > rate*1.02 {
		t.Errorf("achieved %.1f req/s, want %d within 2%%", got, rate)
	}
	if res.Fail() != 0 {
		t.Errorf("%d failures: %v", res.Fail(), res.Errors)
	}
}

func TestOpenModelRequestLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res := run(t, Options{URL: mustParse(t, srv.URL), Rate: 400, Requests: 100, Groups: 1, Workers: 4, Timeout: time.Second})
	// 100 requests due at 0, 2.5ms, ... 247.5ms.
	if res.Count != 100 || res.Elapsed < 240*time.Millisecond || res.Elapsed > 600*time.Millisecond {
		t.Errorf("count %d elapsed %v, want 100 in about 250ms", res.Count, res.Elapsed)
	}
}

// A server with injected delays: 80% of requests take 2 ms, 20% take 20 ms.
func TestPercentilesWithInjectedDelays(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			time.Sleep(20 * time.Millisecond)
		} else {
			time.Sleep(2 * time.Millisecond)
		}
	}))
	defer srv.Close()
	res := run(t, Options{URL: mustParse(t, srv.URL), Requests: 500, Groups: 1, Workers: 5, Timeout: 5 * time.Second})
	h := res.Latency
	ms := func(v int64) float64 { return float64(v) / 1e6 }
	t.Logf("p50 %.2fms p90 %.2fms p99 %.2fms max %.2fms", ms(h.Percentile(50)), ms(h.Percentile(90)), ms(h.Percentile(99)), ms(h.Max()))
	checks := []struct {
		name   string
		got    float64
		lo, hi float64 // milliseconds; upper bounds leave room for a noisy machine
	}{
		{"p50", ms(h.Percentile(50)), 2, 12},
		{"p75", ms(h.Percentile(75)), 2, 12},
		{"p90", ms(h.Percentile(90)), 20, 60},
		{"p99", ms(h.Percentile(99)), 20, 80},
		{"max", ms(h.Max()), 20, 500},
		{"min", ms(h.Min()), 2, 12},
	}
	for _, c := range checks {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s = %.2fms, want %v..%vms", c.name, c.got, c.lo, c.hi)
		}
	}
}

// One 300 ms stall while requests are due every 5 ms: the open model must
// charge the waiting to every request that was due during the stall,
// where a closed-model client sees only one slow request.
func TestOpenModelAvoidsCoordinatedOmission(t *testing.T) {
	newServer := func() *httptest.Server {
		var n atomic.Int64
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 20 {
				time.Sleep(300 * time.Millisecond)
			}
		}))
	}
	ms := func(v int64) float64 { return float64(v) / 1e6 }

	srv := newServer()
	open := run(t, Options{URL: mustParse(t, srv.URL), Rate: 200, Requests: 200, Groups: 1, Workers: 1, Timeout: 2 * time.Second})
	srv.Close()
	srv = newServer()
	closed := run(t, Options{URL: mustParse(t, srv.URL), Requests: 200, Groups: 1, Workers: 1, Timeout: 2 * time.Second})
	srv.Close()

	t.Logf("open: p50 %.1fms p90 %.1fms max %.1fms lag %v; closed: p90 %.1fms max %.1fms",
		ms(open.Latency.Percentile(50)), ms(open.Latency.Percentile(90)), ms(open.Latency.Max()), open.MaxStartLag,
		ms(closed.Latency.Percentile(90)), ms(closed.Latency.Max()))
	if open.Count != 200 || closed.Count != 200 {
		t.Fatalf("counts %d/%d", open.Count, closed.Count)
	}
	// About 60 of 200 requests were due during the stall, waiting 5..300 ms.
	if p := ms(open.Latency.Percentile(90)); p < 100 {
		t.Errorf("open model p90 %.1fms: the stall is hidden", p)
	}
	if open.MaxStartLag < 250*time.Millisecond {
		t.Errorf("max start lag %v, want about 300ms", open.MaxStartLag)
	}
	if m := ms(open.Latency.Max()); m < 300 {
		t.Errorf("open model max %.1fms < stall", m)
	}
	if p := ms(closed.Latency.Percentile(90)); p > 50 {
		t.Errorf("closed model p90 %.1fms, expected the stall to touch one request only", p)
	}
}

func TestHTTP2(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
		}
	})
	tlsSrv := httptest.NewUnstartedServer(handler)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	h2c := httptest.NewUnstartedServer(handler)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	h2c.Config.Protocols = &p
	h2c.Start()
	defer h2c.Close()

	for _, tc := range []struct{ name, url string }{{"tls", tlsSrv.URL}, {"h2c", h2c.URL}} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, Options{URL: mustParse(t, tc.url), Requests: 200, Groups: 2, Workers: 10,
				Timeout: 5 * time.Second, HTTP2: true, Insecure: true})
			if res.OK != 200 || res.Protocol != "HTTP/2.0" || res.Engine != EngineStd {
				t.Errorf("ok %d protocol %q engine %q status %v errors %v", res.OK, res.Protocol, res.Engine, res.Status, res.Errors)
			}
		})
	}
	t.Run("https without http2 stays HTTP/1.1", func(t *testing.T) {
		res := run(t, Options{URL: mustParse(t, tlsSrv.URL), Requests: 10, Groups: 1, Workers: 2,
			Timeout: 5 * time.Second, Insecure: true})
		if res.Status[http.StatusHTTPVersionNotSupported] != 10 || res.Protocol != "HTTP/1.1" {
			t.Errorf("status %v protocol %q", res.Status, res.Protocol)
		}
	})
	t.Run("fast engine refuses http2", func(t *testing.T) {
		if _, err := New(Options{URL: mustParse(t, h2c.URL), Requests: 1, Groups: 1, Workers: 1,
			Timeout: time.Second, HTTP2: true, Engine: EngineFast}); err == nil {
			t.Error("want error")
		}
	})
}

func TestInterruptStopsPromptly(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	for _, engine := range []Engine{EngineFast, EngineStd} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			r, err := New(Options{URL: mustParse(t, srv.URL), Requests: 100, Groups: 1, Workers: 4,
				Timeout: 30 * time.Second, Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res := r.Run(ctx)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("interrupt took %v", d)
			}
			if !res.Interrupted || res.Count != 0 || len(res.Errors) != 0 {
				t.Errorf("interrupted %v count %d errors %v", res.Interrupted, res.Count, res.Errors)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	u := mustParse(t, "http://127.0.0.1:1/")
	bad := []Options{
		{URL: u, Groups: 1, Workers: 1, Timeout: time.Second},                                                  // no limit
		{URL: mustParse(t, "ftp://x/"), Requests: 1, Groups: 1, Workers: 1, Timeout: time.Second},              // scheme
		{URL: u, Requests: 1, Groups: 0, Workers: 1, Timeout: time.Second},                                     // groups
		{URL: u, Requests: 1, Groups: 1, Workers: 1},                                                           // timeout
		{URL: u, Requests: 1, Groups: 1, Workers: 1, Timeout: time.Second, Rate: -1},                           // rate
		{URL: u, Requests: 1, Groups: 1, Workers: 1, Timeout: time.Second, Engine: "curl"},                     // engine
		{URL: u, Requests: 1, Groups: 1, Workers: 1, Timeout: time.Second, Header: http.Header{"X": {"a\nb"}}}, // header
	}
	for i, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("case %d: want error", i)
		}
	}
}

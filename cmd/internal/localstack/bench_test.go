package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/postgres"
	refreshtoken "github.com/benchwrap/backend/shared/token"
	"github.com/benchwrap/backend/testkit/testenv"
)

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func benchPost(b *testing.B, url, auth string, body any) map[string]any {
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest("POST", url, rd)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	return benchDo(b, req)
}

func benchDo(b *testing.B, req *http.Request) map[string]any {
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Error(err)
		return nil
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode >= 300 {
		b.Errorf("%s %s: %d %v", req.Method, req.URL.Path, resp.StatusCode, m)
	}
	return m
}

// runParallel runs client as sub-benchmark name on 4 goroutines per CPU
// (each its own client with its own setup) and reports the rate of all.
func runParallel(b *testing.B, name string, client func(b *testing.B, pb *testing.PB)) {
	b.Run(name, func(b *testing.B) {
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) { client(b, pb) })
		reportRate(b, start)
	})
}

// benchStack is the test stack with this process's log silenced until
// the benchmark ends: one line per request would dominate the figures.
func benchStack(b *testing.B) *Stack {
	s := testStack(b)
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	b.Cleanup(func() { slog.SetDefault(prev) })
	return s
}

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkGateway measures requests per second through the local gateway
// for each function, with 8 concurrent clients (b.SetParallelism(4) on 2 cores).
func BenchmarkGateway(b *testing.B) {
	s := benchStack(b)
	var seq atomic.Int64
	prefix := testenv.Name("b")[:7]
	newUser := func() string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }
	pw := "password-123"
	user := newUser()
	access, _ := register(b, s.GatewayURL, user, pw)

	runParallel(b, "register", func(b *testing.B, pb *testing.PB) {
		for pb.Next() {
			benchPost(b, s.GatewayURL+"/auth/register", "", map[string]string{"username": newUser(), "password": pw})
		}
	})
	runParallel(b, "login", func(b *testing.B, pb *testing.PB) {
		for pb.Next() {
			benchPost(b, s.GatewayURL+"/auth/login", "", map[string]string{"username": user, "password": pw})
		}
	})
	runParallel(b, "refresh", func(b *testing.B, pb *testing.PB) {
		// Each client rotates its own chain, as real clients do.
		m := benchPost(b, s.GatewayURL+"/auth/login", "", map[string]string{"username": user, "password": pw})
		rt, _ := m["refresh"].(string)
		for pb.Next() {
			m := benchPost(b, s.GatewayURL+"/auth/refresh", "", map[string]string{"refresh": rt})
			rt, _ = m["refresh"].(string)
		}
	})
	// Refresh rotations on 1 and 16 chains, the two figures issue 18
	// compares with the original backend.
	for _, chains := range []int{1, 16} {
		b.Run(fmt.Sprintf("refresh-%dchain", chains), func(b *testing.B) {
			tokens := make([]string, chains)
			for i := range tokens {
				m := benchPost(b, s.GatewayURL+"/auth/login", "", map[string]string{"username": user, "password": pw})
				tokens[i], _ = m["refresh"].(string)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i := range chains {
				wg.Add(1)
				go func(rt string) {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						m := benchPost(b, s.GatewayURL+"/auth/refresh", "", map[string]string{"refresh": rt})
						rt, _ = m["refresh"].(string)
					}
				}(tokens[i])
			}
			wg.Wait()
			reportRate(b, start)
		})
	}
	runParallel(b, "presign", func(b *testing.B, pb *testing.PB) {
		for pb.Next() {
			benchPost(b, s.GatewayURL+"/storage/presign/upload?object_name=run.h5&benchmark_name=stream", access, nil)
		}
	})
	runParallel(b, "list", func(b *testing.B, pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", s.GatewayURL+"/storage/list", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			benchDo(b, req)
		}
	})
}

// BenchmarkUploadToTable measures the time from the PUT of a
// 100,000-row profile to its committed table: MinIO's notification, the
// analyze function's download, the pipeline and the COPY.
func BenchmarkUploadToTable(b *testing.B) {
	s := benchStack(b)
	spec := gen.Default()
	spec.Rows, spec.TasksPerNode, spec.Seed = 100_000, 4, 7
	data := generated(b, spec)
	_, access := newUser(b, s, "bu")
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("upload_%d.h5", i)
		p := call(b, "POST", s.GatewayURL+"/storage/presign/upload?object_name="+name, nil, "Authorization", "Bearer "+access)
		req, _ := http.NewRequest("PUT", p.Str(b, "url"), bytes.NewReader(data))
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("PUT: %v %v", resp, err)
		}
		resp.Body.Close()
		r := waitRuns(b, p.Str(b, "key"), 1, 5*time.Minute)[0]
		total += r.Finished.Sub(start)
		if r.Status != "done" || r.Rows < 100_000 {
			b.Fatalf("run %+v", r)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/upload")
}

// BenchmarkRefreshHops splits one chain's rotation into the hops it
// crosses, each measured alone and one request at a time (what bounds a
// single chain), on the stack's durable PostgreSQL: a round trip and a
// committed (WAL-flushed) transaction, the rotation statement, the
// account service (plus token generation and JWT signing), the
// function's Handle (plus body decoding, logging and JSON), the function
// binary's HTTP server alone ("direct", as a deployed function serves),
// and the local gateway (what `make bench` reports as refresh-1chain).
// Differences between lines are the cost of each hop, in µs/rotation.
func BenchmarkRefreshHops(b *testing.B) {
	s := benchStack(b)
	ctx := context.Background()
	user, _ := newUser(b, s, "bh")
	login := func() string {
		m := benchPost(b, s.GatewayURL+"/auth/login", "", map[string]string{"username": user, "password": "password-123"})
		rt, _ := m["refresh"].(string)
		return rt
	}
	pool, err := s.app.Postgres(ctx)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := s.app.Accounts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var fsync, syncCommit, walSync string
	if err := pool.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('wal_sync_method')").Scan(&fsync, &syncCommit, &walSync); err != nil {
		b.Fatal(err)
	}
	b.Logf("PostgreSQL: fsync=%s synchronous_commit=%s wal_sync_method=%s", fsync, syncCommit, walSync)
	perOp := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/rotation")
	}
	b.Run("pg-roundtrip", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
				b.Fatal(err)
			}
		}
		perOp(b, start)
	})
	// The smallest committed write: one row rewritten in place, so the
	// commit flushes WAL (fsync), which every rotation waits for. (A
	// transaction that wrote no WAL, e.g. SELECT txid_current(), is not
	// flushed.)
	b.Run("pg-commit", func(b *testing.B) {
		probe := refreshtoken.HashRefresh(login())
		start := time.Now()
		for range b.N {
			if _, err := pool.Exec(ctx, "UPDATE refresh_tokens SET issued_at = issued_at WHERE token_hash = $1", probe); err != nil {
				b.Fatal(err)
			}
		}
		perOp(b, start)
	})
	b.Run("sql-rotate", func(b *testing.B) {
		store := postgres.Accounts{Pool: pool}
		old := refreshtoken.HashRefresh(login())
		start := time.Now()
		for range b.N {
			_, next, _ := refreshtoken.NewRefresh()
			now := time.Now()
			if _, err := store.RotateRefresh(ctx, old, account.RefreshToken{Hash: next, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil {
				b.Fatal(err)
			}
			old = next
		}
		perOp(b, start)
	})
	b.Run("service", func(b *testing.B) {
		rt := login()
		start := time.Now()
		for range b.N {
			t, err := svc.Refresh(ctx, rt)
			if err != nil {
				b.Fatal(err)
			}
			rt = t.Refresh
		}
		perOp(b, start)
	})
	b.Run("handle", func(b *testing.B) {
		rt := login()
		start := time.Now()
		for range b.N {
			body, _ := json.Marshal(map[string]string{"refresh": rt})
			req := handler.Request{Body: body, Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}}
			req.WithContext(ctx)
			resp, err := s.functions["refresh"].Handle(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
			}
			var t account.Tokens
			_ = json.Unmarshal(resp.Body, &t)
			rt = t.Refresh
		}
		perOp(b, start)
	})
	oneChain := func(b *testing.B, url string) {
		rt := login()
		start := time.Now()
		for range b.N {
			m := benchPost(b, url, "", map[string]string{"refresh": rt})
			rt, _ = m["refresh"].(string)
		}
		perOp(b, start)
	}
	b.Run("direct", func(b *testing.B) {
		f := s.functions["refresh"]
		srv := httptest.NewServer(fnhttp.Mux(f.Policy.Handler(f.Handle), f.Ready))
		defer srv.Close()
		oneChain(b, srv.URL+"/")
	})
	b.Run("gateway", func(b *testing.B) { oneChain(b, s.GatewayURL+"/auth/refresh") })
}

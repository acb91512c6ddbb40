package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/testenv"
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

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkGateway measures requests per second through the local gateway
// for each function, with 8 concurrent clients (b.SetParallelism(4) on 2 cores).
func BenchmarkGateway(b *testing.B) {
	s := testStack(b)
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil))) // one line per request would dominate
	defer slog.SetDefault(prev)
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
	s := testStack(b)
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)
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

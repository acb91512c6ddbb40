package pricing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memCache is a BlockCache in memory.
type memCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	puts map[string]int
}

func newMemCache() *memCache { return &memCache{m: map[string][]byte{}, puts: map[string]int{}} }

func (c *memCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b, ok, nil
}

func (c *memCache) Put(_ context.Context, key string, body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = append([]byte(nil), body...)
	c.puts[key]++
	return nil
}

func (c *memCache) has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[key]
	return ok
}

// Three weekly blocks starting on Monday 2024-01-01 00:00 CET, of
// quarter-hour prices: 100 EUR/MWh in the first week, 200 in the second,
// and in the third (this week: now is its Wednesday) 300 for its first
// three days and null after, as SMARD shows the week's future.
const (
	week = int64(7 * 24 * 3600 * 1000)
	day  = int64(24 * 3600 * 1000)
	w0   = int64(1704063600000)
	w1   = w0 + week
	w2   = w1 + week
)

var fakeNow = time.UnixMilli(w2 + 2*day + 10*3600*1000)

func blockPrice(start, ms int64) *float64 {
	var v float64
	switch start {
	case w0:
		v = 100
	case w1:
		v = 200
	default:
		if ms >= w2+3*day {
			return nil
		}
		v = 300
	}
	return &v
}

// fakeSMARD serves the index and the blocks in SMARD's layout under
// /app/chart_data, counting requests by file name. slow files answer
// only when the client gives up; broken ones answer 503.
type fakeSMARD struct {
	*httptest.Server
	mu       sync.Mutex
	hits     map[string]int
	slow     map[string]bool
	broken   map[string]bool
	inFlight atomic.Int32
	maxIn    atomic.Int32
	delay    time.Duration
}

func newFakeSMARD(t *testing.T) *fakeSMARD {
	t.Helper()
	f := &fakeSMARD{hits: map[string]int{}, slow: map[string]bool{}, broken: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.Server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(f.serve)}}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSMARD) set(m map[string]bool, name string, v bool) {
	f.mu.Lock()
	m[name] = v
	f.mu.Unlock()
}

func (f *fakeSMARD) url() string { return f.URL + "/app/chart_data" }

func (f *fakeSMARD) serve(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxIn.Load()
		if n <= m || f.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	const dir = "/app/chart_data/4169/DE-LU/"
	name, ok := strings.CutPrefix(r.URL.Path, dir)
	f.mu.Lock()
	f.hits[name]++
	slow, broken := f.slow[name], f.broken[name]
	delay := f.delay
	f.mu.Unlock()
	if !ok || broken {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if slow {
		<-r.Context().Done()
		return
	}
	time.Sleep(delay)
	if name == "index_quarterhour.json" {
		json.NewEncoder(w).Encode(map[string]any{"timestamps": []int64{w0, w1, w2}})
		return
	}
	var start int64
	if _, err := fmt.Sscanf(name, "4169_DE-LU_quarterhour_%d.json", &start); err != nil || (start != w0 && start != w1 && start != w2) {
		http.NotFound(w, r)
		return
	}
	var series [][2]any
	for ms := start; ms < start+week; ms += 900_000 {
		series = append(series, [2]any{ms, blockPrice(start, ms)})
	}
	json.NewEncoder(w).Encode(map[string]any{"meta_data": map[string]any{"version": 1}, "series": series})
}

func blockName(start int64) string { return fmt.Sprintf("4169_DE-LU_quarterhour_%d.json", start) }

const indexName = "index_quarterhour.json"

// expect checks the request counts so far.
func (f *fakeSMARD) expect(t *testing.T, step string, want map[string]int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, n := range want {
		if f.hits[name] != n {
			t.Errorf("%s: %d requests for %s; want %d (all: %v)", step, f.hits[name], name, n, f.hits)
		}
	}
}

func (f *fakeSMARD) source(cache BlockCache) *SMARD {
	return &SMARD{BaseURL: f.url(), Cache: cache, Now: func() time.Time { return fakeNow }, Timeout: 5 * time.Second}
}

// job is an hour of constant 1000 W (1 kWh) starting at ms.
func job(ms int64) (times, power []float64) {
	s := float64(ms) / 1000
	return []float64{s, s + 1800, s + 3600}, []float64{1000, 1000, 1000}
}

func cost(t *testing.T, src Source, ms int64) (float64, error) {
	t.Helper()
	times, power := job(ms)
	s, err := src.Series(t.Context(), time.UnixMilli(ms), time.UnixMilli(ms+3600_000))
	if err != nil {
		return 0, err
	}
	return s.Cost(times, power)
}

func TestSMARDFetchesOnceAndCaches(t *testing.T) {
	f := newFakeSMARD(t)
	cache := newMemCache()
	src := f.source(cache)

	// Across the first week's end: half an hour at 100, half at 200:
	// 0.0005 MWh * 100 + 0.0005 MWh * 200 = 0.15 EUR.
	mustCost(t, src, w1-1800_000, 0.15)
	f.expect(t, "first call", map[string]int{indexName: 1, blockName(w0): 1, blockName(w1): 1, blockName(w2): 0})
	for _, k := range []string{"index", fmt.Sprint(w0), fmt.Sprint(w1)} {
		if !cache.has("smard/4169/DE-LU/quarterhour/" + k) {
			t.Errorf("%s not cached", k)
		}
	}

	// Both weeks are settled and cached: nothing is fetched.
	mustCost(t, src, w1-1800_000, 0.15)
	f.expect(t, "second call", map[string]int{indexName: 1, blockName(w0): 1, blockName(w1): 1})

	// This week's block is fetched each time and never stored: 1 kWh at
	// 300 EUR/MWh = 0.3 EUR.
	for i := range 2 {
		mustCost(t, src, w2+3600_000, 0.3)
		f.expect(t, "this week", map[string]int{indexName: 2 + i, blockName(w2): 1 + i, blockName(w0): 1, blockName(w1): 1})
	}
	if cache.has("smard/4169/DE-LU/quarterhour/" + fmt.Sprint(w2)) {
		t.Error("this week's block was cached")
	}

	// Across the second week's end: the settled week from the cache, this
	// week's fetched. 0.0005 * 200 + 0.0005 * 300 = 0.25 EUR.
	mustCost(t, src, w2-1800_000, 0.25)
	f.expect(t, "across into this week", map[string]int{indexName: 4, blockName(w0): 1, blockName(w1): 1, blockName(w2): 3})

	// A new source on the same cache (another run) needs no requests for
	// past weeks either.
	mustCost(t, f.source(cache), w0+day, 0.1)
	f.expect(t, "another source", map[string]int{indexName: 4, blockName(w0): 1})
	if cache.puts["smard/4169/DE-LU/quarterhour/index"] != 1 {
		t.Errorf("the unchanged index was stored %d times", cache.puts["smard/4169/DE-LU/quarterhour/index"])
	}
}

func mustCost(t *testing.T, src Source, ms int64, want float64) {
	t.Helper()
	got, err := cost(t, src, ms)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got, want) {
		t.Fatalf("cost %.17g; want %v", got, want)
	}
}

func TestSMARDJoin(t *testing.T) {
	f := newFakeSMARD(t)
	s, err := f.source(nil).Series(t.Context(), time.UnixMilli(w1-60_000), time.UnixMilli(w1+60_000))
	if err != nil {
		t.Fatal(err)
	}
	// Whole blocks: two weeks of quarter hours.
	if s.Len() != 2*672 {
		t.Fatalf("%d intervals; want %d", s.Len(), 2*672)
	}
	if from, to, _ := s.Range(); from != float64(w0)/1000 || to != float64(w2)/1000 {
		t.Fatalf("range %v..%v", from, to)
	}
	// Compat: the nearest point of w1-500 s is w1-900 s (100), w1-450 s
	// is as near to both and takes the earlier, w1-300 s is nearest to w1
	// (200); the NULL epoch lies between two 100s.
	sec := float64(w1) / 1000
	price, c := CompatColumns([]float64{sec - 500, math.NaN(), sec - 450, sec - 300},
		[]float64{3.6e6, 3.6e6, 7.2e6, 1.8e6}, s)
	want := []float64{100, 100, 100, 200}
	wantCost := []float64{100, 100, 200, 100}
	for i := range want {
		if price[i] != want[i] || c[i] != wantCost[i] {
			t.Fatalf("price %v cost %v; want %v, %v", price, c, want, wantCost)
		}
	}
}

func TestSMARDNulls(t *testing.T) {
	f := newFakeSMARD(t)
	src := f.source(newMemCache())
	// Thursday of this week has no prices yet.
	_, err := cost(t, src, w2+3*day+3600_000)
	var ge *GapError
	if !errors.Is(err, ErrNoData) || !errors.As(err, &ge) || ge.To-ge.From != 3600 {
		t.Fatalf("err = %v; want an hour without data", err)
	}
	// A job running into the nulls: the gap starts where the prices end.
	_, err = cost(t, src, w2+3*day-1800_000)
	if !errors.As(err, &ge) || ge.From != float64(w2+3*day)/1000 {
		t.Fatalf("err = %v", err)
	}
	times, power := job(w2 + 3*day)
	fp := Assess(t.Context(), src, nil, times, power)
	if fp.CostEUR != nil || !strings.HasPrefix(fp.CostError, "no data for 2024-01-17T23:00:00Z to 2024-01-18T00:00:00Z") || fp.PriceSource == "" {
		t.Fatalf("%+v", fp)
	}
}

func TestSMARDBeforeIndex(t *testing.T) {
	f := newFakeSMARD(t)
	_, err := cost(t, f.source(nil), w0-2*day)
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "index starts after the job") {
		t.Fatalf("err = %v", err)
	}
}

func TestSMARDTimeout(t *testing.T) {
	f := newFakeSMARD(t)
	f.set(f.slow, blockName(w1), true)
	cache := newMemCache()
	src := f.source(cache)
	src.Timeout = 200 * time.Millisecond
	start := time.Now()
	times, power := job(w1 - 1800_000)
	fp := Assess(t.Context(), src, nil, times, power)
	if fp.CostEUR != nil || !strings.Contains(fp.CostError, "no answer within 200ms") || !strings.Contains(fp.CostError, "block 2024-01-07T23:00:00Z") {
		t.Fatalf("%+v", fp)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
	// Nothing of the failed call is cached but the index: the block
	// that did arrive is fetched again next time.
	if cache.has("smard/4169/DE-LU/quarterhour/"+fmt.Sprint(w1)) || cache.has("smard/4169/DE-LU/quarterhour/"+fmt.Sprint(w0)) {
		t.Error("blocks of a failed call were cached")
	}
	f.set(f.slow, blockName(w1), false)
	mustCost(t, src, w1-1800_000, 0.15)
	f.expect(t, "after the timeout", map[string]int{blockName(w0): 2, blockName(w1): 2})
}

func TestSMARDIndexDown(t *testing.T) {
	f := newFakeSMARD(t)
	f.set(f.broken, indexName, true)
	cache := newMemCache()
	src := f.source(cache)
	// No stored index: the cost is empty with the reason.
	times, power := job(w1)
	fp := Assess(t.Context(), src, nil, times, power)
	if fp.CostEUR != nil || !strings.Contains(fp.CostError, "smard: index: GET ") || !strings.Contains(fp.CostError, "503") {
		t.Fatalf("%+v", fp)
	}
	// With a stored index, this week's block is still fetched fresh and
	// the fallback is noted.
	f.set(f.broken, indexName, false)
	mustCost(t, src, w1, 0.2)
	f.set(f.broken, indexName, true)
	s, err := src.Series(t.Context(), time.UnixMilli(w2), time.UnixMilli(w2+3600_000))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "index not fetched, used the stored one") {
		t.Fatalf("notes %q", s.Notes)
	}
	f.expect(t, "index down", map[string]int{indexName: 3, blockName(w2): 1})
}

func TestSMARDBadBlock(t *testing.T) {
	f := newFakeSMARD(t)
	f.set(f.broken, blockName(w0), true)
	_, err := cost(t, f.source(nil), w0+day)
	if err == nil || !strings.Contains(err.Error(), "503") || errors.Is(err, ErrNoData) {
		t.Fatalf("err = %v", err)
	}
}

func TestSMARDParallel(t *testing.T) {
	f := newFakeSMARD(t)
	f.mu.Lock()
	f.delay = 50 * time.Millisecond
	f.mu.Unlock()
	src := f.source(nil)
	src.Parallel = 2
	s, err := src.Series(t.Context(), time.UnixMilli(w0), time.UnixMilli(w2+day))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3*672 {
		t.Fatalf("%d intervals", s.Len())
	}
	if m := f.maxIn.Load(); m != 2 {
		t.Fatalf("%d requests at once; want 2", m)
	}
}

func TestParseBlock(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"series": [[1000, 1.5], [2000, null]]}`, true},
		{`{"series": []}`, true},
		{`{"series": [[1000]]}`, false},
		{`{"series": [[null, 1]]}`, false},
		{`{"series": [[1.5, 1]]}`, false},
		{`{"other": 1}`, false},
		{`<html>`, false},
	}
	for _, tc := range tests {
		if _, err := parseBlock([]byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("parseBlock(%s): %v", tc.body, err)
		}
	}
	for _, body := range []string{`{"timestamps": []}`, `{"timestamps": [2, 1]}`, `[]`} {
		if _, err := parseIndex([]byte(body)); err == nil {
			t.Errorf("parseIndex(%s): no error", body)
		}
	}
}

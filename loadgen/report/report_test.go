package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/benchwrap/backend/loadgen"
	"github.com/benchwrap/backend/loadgen/scenario"
)

func TestDoneLine(t *testing.T) {
	tests := []struct {
		requests    int64
		elapsed     time.Duration
		ok, fail    int64
		procs, conc int
		want        string
	}{
		{1000, 2500 * time.Millisecond, 990, 10, 4, 250,
			"done: 1000 in 2.50s, rps=400.0, ok=990, fail=10, procs=4, conc/proc=250"},
		{1000000, 12345678901 * time.Nanosecond, 1000000, 0, 2, 500,
			"done: 1000000 in 12.35s, rps=81000.0, ok=1000000, fail=0, procs=2, conc/proc=500"},
		{3, 7 * time.Millisecond, 0, 3, 1, 1,
			"done: 3 in 0.01s, rps=428.6, ok=0, fail=3, procs=1, conc/proc=1"},
		{0, 0, 0, 0, 1, 1, "done: 0 in 0.00s, rps=0.0, ok=0, fail=0, procs=1, conc/proc=1"},
	}
	for _, tc := range tests {
		if got := DoneLine(tc.requests, tc.elapsed, tc.ok, tc.fail, tc.procs, tc.conc); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestDur(t *testing.T) {
	for ns, want := range map[int64]string{57_300: "57.3µs", 12_414_000: "12.41ms", 1_203_000_000: "1.203s", 0: "0.0µs"} {
		if got := Dur(ns); got != want {
			t.Errorf("Dur(%d) = %q, want %q", ns, got, want)
		}
	}
}

func sampleResult() *loadgen.Result {
	rec := loadgen.NewRecorder()
	for i := 0; i < 99; i++ {
		rec.Response(200, time.Duration(i+1)*time.Millisecond, true)
	}
	rec.Response(503, 500*time.Millisecond, false)
	return &loadgen.Result{Stats: *rec.Stats(), Elapsed: 2 * time.Second, Protocol: "HTTP/1.1", Engine: loadgen.EngineFast}
}

func TestTextAndJSON(t *testing.T) {
	info := RunInfo{URL: "http://x/", Method: "GET", Procs: 2, ConcPerProc: 5, Timeout: 2 * time.Second}
	res := sampleResult()
	var buf bytes.Buffer
	WriteText(&buf, info, res)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; last != "done: 100 in 2.00s, rps=50.0, ok=99, fail=1, procs=2, conc/proc=5" {
		t.Errorf("last line %q", last)
	}
	for _, want := range []string{"49.5 ok/s", "200: 99, 503: 1", "p99 99.0", "max 500.00ms", "closed model"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, buf.String())
		}
	}

	var out bytes.Buffer
	if err := WriteJSON(&out, NewRun(info, res)); err != nil {
		t.Fatal(err)
	}
	var back Run
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Requests != 100 || back.OK != 99 || back.Fail != 1 || back.RPS != 50 || back.OKRPS != 49.5 ||
		back.Latency.P50 < 50 || back.Latency.P50 > 50.2 || back.Latency.Max != 500 || back.Status["503"] != 1 || back.Model != "closed" {
		t.Errorf("JSON round trip: %+v", back)
	}
}

func TestScenarioReport(t *testing.T) {
	mk := func(n int, fail int) *loadgen.Stats {
		rec := loadgen.NewRecorder()
		for i := 0; i < n; i++ {
			rec.Response(200, time.Millisecond, i >= fail)
		}
		return rec.Stats()
	}
	res := &scenario.Result{
		Elapsed: 10 * time.Second, RegisterElapsed: time.Second, Iterations: 100, Prefix: "ltabc_", Users: 5,
		Endpoints: []scenario.Endpoint{
			{Step: scenario.Register, Stats: mk(5, 0)},
			{Step: scenario.Login, Stats: mk(100, 0)},
			{Step: scenario.List, Stats: mk(100, 2)},
		},
	}
	s := NewScenario(ScenarioInfo{Name: "auth", BaseURL: "http://x/api", VUs: 10, Procs: 2}, res)
	if s.Requests != 200 || s.OK != 198 || s.Fail != 2 || s.RPS != 20 || s.Endpoints[0].RPS != 5 || s.Endpoints[1].RPS != 10 {
		t.Errorf("totals: %+v", s)
	}
	if s.Done != "done: 200 in 10.00s, rps=20.0, ok=198, fail=2, procs=2, conc/proc=5" {
		t.Errorf("done line %q", s.Done)
	}
	var buf bytes.Buffer
	WriteScenarioText(&buf, s)
	if !strings.Contains(buf.String(), "register") || !strings.Contains(buf.String(), "p99 ms") ||
		!strings.HasSuffix(buf.String(), s.Done+"\n") {
		t.Errorf("text:\n%s", buf.String())
	}
}

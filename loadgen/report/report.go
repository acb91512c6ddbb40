// Package report formats load-test results: the original tool's one-line
// summary, a human-readable report, and JSON.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchwrap/backend/loadgen"
	"github.com/benchwrap/backend/loadgen/internal/hdr"
	"github.com/benchwrap/backend/loadgen/scenario"
)

// DoneLine is the original tool's closing line. As there, rps counts every
// request, failures included.
func DoneLine(requests int64, elapsed time.Duration, ok, fail int64, procs, concPerProc int) string {
	secs := elapsed.Seconds()
	rps := 0.0
	if secs > 0 {
		rps = float64(requests) / secs
	}
	return fmt.Sprintf("done: %d in %.2fs, rps=%.1f, ok=%d, fail=%d, procs=%d, conc/proc=%d",
		requests, secs, rps, ok, fail, procs, concPerProc)
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
}

func ms(ns int64) float64 { return round3(float64(ns) / 1e6) }

func round3(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 3, 64), 64)
	return f
}

// Summarize reads the usual percentiles from h.
func Summarize(h *hdr.Histogram) Latency {
	return Latency{
		Min:  ms(h.Min()),
		Mean: round3(h.Mean() / 1e6),
		P50:  ms(h.Percentile(50)),
		P90:  ms(h.Percentile(90)),
		P99:  ms(h.Percentile(99)),
		P999: ms(h.Percentile(99.9)),
		Max:  ms(h.Max()),
	}
}

// Run is the JSON form of a single-URL run.
type Run struct {
	URL         string            `json:"url"`
	Method      string            `json:"method"`
	Protocol    string            `json:"protocol"`
	Engine      string            `json:"engine"`
	Model       string            `json:"model"`
	TargetRate  float64           `json:"target_rate,omitempty"`
	Procs       int               `json:"procs"`
	ConcPerProc int               `json:"conc_per_proc"`
	Timeout     float64           `json:"timeout_s"`
	Requests    int64             `json:"requests"`
	OK          int64             `json:"ok"`
	Fail        int64             `json:"fail"`
	Elapsed     float64           `json:"elapsed_s"`
	RPS         float64           `json:"rps"`
	OKRPS       float64           `json:"ok_rps"`
	Latency     Latency           `json:"latency"`
	Status      map[string]int64  `json:"status"`
	Errors      map[string]int64  `json:"errors"`
	Samples     map[string]string `json:"error_samples,omitempty"`
	MaxStartLag float64           `json:"max_start_lag_ms,omitempty"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Done        string            `json:"done_line"`
}

// RunInfo is what the report needs besides the Result.
type RunInfo struct {
	URL, Method string
	Rate        float64
	Procs       int
	ConcPerProc int
	Timeout     time.Duration
}

// NewRun builds the JSON form of a run.
func NewRun(info RunInfo, res *loadgen.Result) Run {
	model := "closed"
	if info.Rate > 0 {
		model = "open"
	}
	return Run{
		URL: info.URL, Method: info.Method, Protocol: res.Protocol, Engine: string(res.Engine),
		Model: model, TargetRate: info.Rate, Procs: info.Procs, ConcPerProc: info.ConcPerProc,
		Timeout:  info.Timeout.Seconds(),
		Requests: res.Count, OK: res.OK, Fail: res.Fail(),
		Elapsed: round3(res.Elapsed.Seconds()),
		RPS:     round1(perSec(res.Count, res.Elapsed)), OKRPS: round1(perSec(res.OK, res.Elapsed)),
		Latency: Summarize(res.Latency),
		Status:  statusKeys(res.Status), Errors: nonNil(res.Errors), Samples: res.Samples,
		MaxStartLag: ms(int64(res.MaxStartLag)),
		Interrupted: res.Interrupted,
		Done:        DoneLine(res.Count, res.Elapsed, res.OK, res.Fail(), info.Procs, info.ConcPerProc),
	}
}

func round1(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 1, 64), 64)
	return f
}

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func statusKeys(m map[int]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[strconv.Itoa(k)] = v
	}
	return out
}

func nonNil(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Dur formats a latency compactly: 57.3µs, 12.41ms, 1.203s.
func Dur(ns int64) string {
	switch {
	case ns < 1e6:
		return strconv.FormatFloat(float64(ns)/1e3, 'f', 1, 64) + "µs"
	case ns < 1e9:
		return strconv.FormatFloat(float64(ns)/1e6, 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64) + "s"
	}
}

// WriteText writes the human-readable report of a single-URL run, ending
// with the original's done line.
func WriteText(w io.Writer, info RunInfo, res *loadgen.Result) {
	fmt.Fprintf(w, "target:   %s %s (%s, %s client)\n", info.Method, info.URL, orDash(res.Protocol), res.Engine)
	if info.Rate > 0 {
		fmt.Fprintf(w, "load:     open model, %g req/s target, %d x %d workers, timeout %v, max start lag %s\n",
			info.Rate, info.Procs, info.ConcPerProc, info.Timeout, Dur(int64(res.MaxStartLag)))
	} else {
		fmt.Fprintf(w, "load:     closed model, %d groups x %d workers, timeout %v\n",
			info.Procs, info.ConcPerProc, info.Timeout)
	}
	fmt.Fprintf(w, "requests: %d in %.2fs: %.1f req/s, %d ok (%.1f ok/s), %d failed\n",
		res.Count, res.Elapsed.Seconds(), perSec(res.Count, res.Elapsed), res.OK, perSec(res.OK, res.Elapsed), res.Fail())
	if len(res.Status) > 0 {
		fmt.Fprintf(w, "status:   %s\n", statusLine(res.Status))
	}
	for _, k := range slices.Sorted(maps.Keys(res.Errors)) {
		fmt.Fprintf(w, "error:    %s: %d (first: %s)\n", k, res.Errors[k], res.Samples[k])
	}
	h := res.Latency
	if h.Count() > 0 {
		fmt.Fprintf(w, "latency:  min %s  mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			Dur(h.Min()), Dur(int64(h.Mean())), Dur(h.Percentile(50)), Dur(h.Percentile(90)),
			Dur(h.Percentile(99)), Dur(h.Percentile(99.9)), Dur(h.Max()))
	}
	if res.Interrupted {
		fmt.Fprintln(w, "note:     interrupted; requests in flight were not counted")
	}
	fmt.Fprintln(w, DoneLine(res.Count, res.Elapsed, res.OK, res.Fail(), info.Procs, info.ConcPerProc))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func statusLine(m map[int]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Scenario is the JSON form of a scenario run.
type Scenario struct {
	Scenario     string     `json:"scenario"`
	BaseURL      string     `json:"base_url"`
	VirtualUsers int        `json:"virtual_users"`
	Users        int        `json:"users"`
	UserPrefix   string     `json:"user_prefix"`
	Elapsed      float64    `json:"elapsed_s"`
	RegisterTime float64    `json:"register_elapsed_s"`
	Iterations   int64      `json:"iterations"`
	FailedIters  int64      `json:"failed_iterations"`
	Requests     int64      `json:"requests"`
	OK           int64      `json:"ok"`
	Fail         int64      `json:"fail"`
	RPS          float64    `json:"rps"`
	Endpoints    []Endpoint `json:"endpoints"`
	Interrupted  bool       `json:"interrupted,omitempty"`
	Done         string     `json:"done_line"`
}

// Endpoint is one step of a scenario.
type Endpoint struct {
	Name     string            `json:"name"`
	Requests int64             `json:"requests"`
	OK       int64             `json:"ok"`
	Fail     int64             `json:"fail"`
	RPS      float64           `json:"rps"`
	Latency  Latency           `json:"latency"`
	Status   map[string]int64  `json:"status"`
	Errors   map[string]int64  `json:"errors"`
	Samples  map[string]string `json:"error_samples,omitempty"`
}

// ScenarioInfo is what the report needs besides the Result.
type ScenarioInfo struct {
	Name, BaseURL string
	VUs, Procs    int
}

// NewScenario builds the JSON form of a scenario run. Totals and the done
// line cover the loop phase only (registration is reported as its own
// endpoint, with its own rate).
func NewScenario(info ScenarioInfo, res *scenario.Result) Scenario {
	s := Scenario{
		Scenario: info.Name, BaseURL: info.BaseURL, VirtualUsers: info.VUs, Users: res.Users,
		UserPrefix: res.Prefix, Elapsed: round3(res.Elapsed.Seconds()),
		RegisterTime: round3(res.RegisterElapsed.Seconds()),
		Iterations:   res.Iterations, FailedIters: res.Failed, Interrupted: res.Interrupted,
	}
	for _, e := range res.Endpoints {
		d := res.Elapsed
		if e.Step == scenario.Register {
			d = res.RegisterElapsed
		} else {
			s.Requests += e.Stats.Count
			s.OK += e.Stats.OK
		}
		s.Endpoints = append(s.Endpoints, Endpoint{
			Name: e.Step.String(), Requests: e.Stats.Count, OK: e.Stats.OK, Fail: e.Stats.Fail(),
			RPS:     round1(perSec(e.Stats.Count, d)),
			Latency: Summarize(e.Stats.Latency),
			Status:  statusKeys(e.Stats.Status), Errors: nonNil(e.Stats.Errors), Samples: e.Stats.Samples,
		})
	}
	s.Fail = s.Requests - s.OK
	s.RPS = round1(perSec(s.Requests, res.Elapsed))
	s.Done = DoneLine(s.Requests, res.Elapsed, s.OK, s.Fail, info.Procs, max(1, info.VUs/max(1, info.Procs)))
	return s
}

// WriteScenarioText writes a per-endpoint table, any error samples, and
// the done line.
func WriteScenarioText(w io.Writer, s Scenario) {
	fmt.Fprintf(w, "scenario %s against %s: %d virtual users, %d users (%s...), %.1fs (+%.1fs registering), %d iterations, %d failed\n",
		s.Scenario, s.BaseURL, s.VirtualUsers, s.Users, s.UserPrefix, s.Elapsed, s.RegisterTime, s.Iterations, s.FailedIters)
	fmt.Fprintf(w, "  %-9s %9s %9s %6s %8s %8s %8s %8s %9s %8s\n",
		"endpoint", "requests", "ok", "fail", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms")
	for _, e := range s.Endpoints {
		l := e.Latency
		fmt.Fprintf(w, "  %-9s %9d %9d %6d %8.1f %8.2f %8.2f %8.2f %9.2f %8.2f\n",
			e.Name, e.Requests, e.OK, e.Fail, e.RPS, l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	for _, e := range s.Endpoints {
		for _, k := range slices.Sorted(maps.Keys(e.Samples)) {
			count := e.Errors[k]
			if strings.HasPrefix(k, "status ") {
				code, _ := strconv.Atoi(strings.TrimPrefix(k, "status "))
				count = e.Status[strconv.Itoa(code)]
			}
			fmt.Fprintf(w, "%s: %s x%d, first: %s\n", e.Name, k, count, e.Samples[k])
		}
	}
	if s.Interrupted {
		fmt.Fprintln(w, "note: interrupted; requests in flight were not counted")
	}
	fmt.Fprintln(w, s.Done)
}

package results

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"sort"

	"github.com/benchwrap/backend/shared/apperr"
)

// EncodeCursor makes an opaque page cursor.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Job == "" {
		return nil, apperr.New(apperr.BadRequest, "cursor is not one this API returned.")
	}
	return &c, nil
}

// Stats describe one figure over a benchmark's runs.
type Stats struct {
	Count  int      `json:"count"`
	Mean   *float64 `json:"mean"`
	Median *float64 `json:"median"`
	Stdev  *float64 `json:"stdev"` // sample standard deviation; null below 2 runs
	Min    *float64 `json:"min"`
	Max    *float64 `json:"max"`
	// Slope is the least-squares trend over the runs' start times, in
	// the figure's unit per day; null below 2 runs with a start.
	SlopePerDay *float64 `json:"trend_per_day"`
}

// BenchmarkSummary is a benchmark's runs in figures.
type BenchmarkSummary struct {
	Name     string   `json:"name"`
	Runs     int      `json:"runs"`
	First    *float64 `json:"first_start_epoch_s"`
	Last     *float64 `json:"last_start_epoch_s"`
	EnergyJ  Stats    `json:"energy_j"`
	WallTime Stats    `json:"wall_time_s"`
	EDP      Stats    `json:"edp"`
	// Best is the run with the least energy.
	Best *Job `json:"best"`
}

// BenchmarkDetail adds every run with its regression verdict.
type BenchmarkDetail struct {
	BenchmarkSummary
	Runs []Regression `json:"runs_list"`
}

// Summarise computes a benchmark's statistics; jobs are oldest first.
func Summarise(name string, jobs []Job) BenchmarkSummary {
	s := BenchmarkSummary{Name: name, Runs: len(jobs)}
	s.EnergyJ, s.WallTime, s.EDP = stats(jobs, "energy_j"), stats(jobs, "wall_time_s"), stats(jobs, "edp")
	for i, j := range jobs {
		s.First = minPtr(s.First, j.StartEpochS)
		s.Last = maxPtr(s.Last, j.StartEpochS)
		if j.EnergyJ != nil && (s.Best == nil || *j.EnergyJ < *s.Best.EnergyJ) {
			s.Best = &jobs[i]
		}
	}
	return s
}

func stats(jobs []Job, field string) Stats {
	var xs, ts, ys []float64
	for _, j := range jobs {
		v := j.Value(field)
		if v == nil {
			continue
		}
		xs = append(xs, *v)
		if j.StartEpochS != nil {
			ts, ys = append(ts, *j.StartEpochS/86400), append(ys, *v)
		}
	}
	st := Stats{Count: len(xs)}
	if len(xs) == 0 {
		return st
	}
	var sum float64
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean := sum / float64(len(xs))
	med := median(xs)
	st.Mean, st.Median, st.Min, st.Max = &mean, &med, &lo, &hi
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(ss / float64(len(xs)-1))
		st.Stdev = &sd
	}
	st.SlopePerDay = slope(ts, ys)
	return st
}

func slope(xs, ys []float64) *float64 {
	if len(xs) < 2 {
		return nil
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(xs))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return nil
	}
	v := num / den
	return &v
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Verdict is a run's figure against its baseline.
type Verdict struct {
	Value    *float64 `json:"value"`
	Baseline *float64 `json:"baseline_median"`
	MAD      *float64 `json:"baseline_mad"`
	// Change is (value − median) / median.
	Change  *float64 `json:"change"`
	Flagged bool     `json:"flagged"`
}

// Regression is one run of a benchmark with its verdicts.
type Regression struct {
	Job         string   `json:"job"`
	StartEpochS *float64 `json:"start_epoch_s"`
	EDP         *float64 `json:"edp"`
	Baseline    int      `json:"baseline_runs"` // runs in the baseline; 0: too few for a verdict
	Energy      Verdict  `json:"energy_j"`
	Time        Verdict  `json:"wall_time_s"`
	Flagged     bool     `json:"flagged"`
}

// Regressions judges each run (jobs oldest first) against the previous
// BaselineRuns runs: a figure is flagged when it lies outside median ±
// Threshold × 1.4826 × MAD (the MAD scaled to a standard deviation) and
// changed by at least MinChange of the median.
func (c Config) Regressions(jobs []Job) []Regression {
	out := make([]Regression, 0, len(jobs))
	for i, j := range jobs {
		r := Regression{Job: j.ID, StartEpochS: j.StartEpochS, EDP: j.EDP}
		lo := max(0, i-c.BaselineRuns)
		prev := jobs[lo:i]
		r.Energy, r.Baseline = c.verdict(j.EnergyJ, prev, "energy_j")
		r.Time, _ = c.verdict(j.WallTimeS, prev, "wall_time_s")
		r.Flagged = r.Energy.Flagged || r.Time.Flagged
		out = append(out, r)
	}
	return out
}

func (c Config) verdict(v *float64, prev []Job, field string) (Verdict, int) {
	out := Verdict{Value: v}
	var base []float64
	for _, p := range prev {
		if x := p.Value(field); x != nil {
			base = append(base, *x)
		}
	}
	if v == nil || len(base) < max(1, c.MinBaseline) {
		return out, 0
	}
	m := median(base)
	dev := make([]float64, len(base))
	for i, x := range base {
		dev[i] = math.Abs(x - m)
	}
	mad := median(dev)
	out.Baseline, out.MAD = &m, &mad
	if m != 0 {
		ch := (*v - m) / m
		out.Change = &ch
	}
	diff := math.Abs(*v - m)
	out.Flagged = diff > c.Threshold*1.4826*mad && diff >= c.MinChange*math.Abs(m)
	return out, len(base)
}

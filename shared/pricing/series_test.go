package pricing

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// t0 is an arbitrary epoch (2024-01-01T00:00:00Z), so the sums run at the
// magnitude of real timestamps.
const t0 = 1704067200.0

func stepsOf(t *testing.T, times, values []float64, end float64) *Series {
	t.Helper()
	s, err := StepSeries(times, values, end)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func TestCostByHand(t *testing.T) {
	nan := math.NaN()
	price100 := stepsOf(t, []float64{t0}, []float64{100}, t0+3600)
	// 100 EUR/MWh for the first half hour, 200 for the second.
	step := stepsOf(t, []float64{t0, t0 + 1800}, []float64{100, 200}, t0+3600)
	// 60 EUR/MWh for the first quarter hour, then 120.
	quarter := stepsOf(t, []float64{t0, t0 + 900}, []float64{60, 120}, t0+3600)
	tests := []struct {
		name   string
		s      *Series
		times  []float64
		power  []float64
		want   float64
		carbon bool
	}{
		// 1000 W for 1 h = 1 kWh = 0.001 MWh; * 100 EUR/MWh = 0.1 EUR.
		{"constant", price100, []float64{t0, t0 + 3600}, []float64{1000, 1000}, 0.1, false},
		// Same, sampled every 10 min.
		{"constant sampled", price100, []float64{t0, t0 + 600, t0 + 1200, t0 + 1800, t0 + 2400, t0 + 3000, t0 + 3600},
			[]float64{1000, 1000, 1000, 1000, 1000, 1000, 1000}, 0.1, false},
		// A NaN sample is bridged: still 1000 W throughout.
		{"NaN power skipped", price100, []float64{t0, t0 + 1800, t0 + 3600}, []float64{1000, nan, 1000}, 0.1, false},
		{"NaN time skipped", price100, []float64{t0, nan, t0 + 3600}, []float64{1000, 5, 1000}, 0.1, false},
		// Ramp 0 -> 3600 W over the hour (p(t) = t W, t in s from t0)
		// across the step: J in [0, 1800] = 1800^2/2 = 1.62e6 at 100,
		// J in [1800, 3600] = (3600^2 - 1800^2)/2 = 4.86e6 at 200:
		// (1.62e6*100 + 4.86e6*200) / 3.6e9 = 1.134e9 / 3.6e9 = 0.315 EUR.
		{"ramp across a step", step, []float64{t0, t0 + 3600}, []float64{0, 3600}, 0.315, false},
		// The same ramp sampled at t0+1000 too (a segment end inside an
		// interval): the curve is the same line, so the same cost.
		{"ramp split", step, []float64{t0, t0 + 1000, t0 + 3600}, []float64{0, 1000, 3600}, 0.315, false},
		// 1000 -> 2000 W over the hour, 60 then 120 EUR/MWh at 900 s:
		// p(900) = 1250 W; J [0, 900] = (1000+1250)/2*900 = 1.0125e6,
		// J [900, 3600] = (1250+2000)/2*2700 = 4.3875e6;
		// (1.0125e6*60 + 4.3875e6*120) / 3.6e9 = 5.8725e8 / 3.6e9 = 0.163125.
		{"trapezoid", quarter, []float64{t0, t0 + 3600}, []float64{1000, 2000}, 0.163125, false},
		// Repeated time: a zero-length segment adds nothing.
		{"repeated time", price100, []float64{t0, t0 + 1800, t0 + 1800, t0 + 3600}, []float64{1000, 1000, 1000, 1000}, 0.1, false},
		{"one sample", price100, []float64{t0 + 10}, []float64{1000}, 0, false},
		{"no samples", price100, nil, nil, 0, false},
		// Carbon: 2000 W for 30 min = 1 kWh; * 400 g/kWh = 400 g = 0.4 kg.
		{"carbon", stepsOf(t, []float64{t0}, []float64{400}, t0+1800), []float64{t0, t0 + 1800}, []float64{2000, 2000}, 0.4, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got float64
			var err error
			if tc.carbon {
				got, err = tc.s.Carbon(tc.times, tc.power)
			} else {
				got, err = tc.s.Cost(tc.times, tc.power)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tc.want) {
				t.Fatalf("got %.17g, want %.17g", got, tc.want)
			}
		})
	}
}

func TestFixedCost(t *testing.T) {
	s, err := Fixed{EURPerKWh: 0.30}.Series(t.Context(), zeroTime, zeroTime)
	if err != nil {
		t.Fatal(err)
	}
	// 2000 W for 30 min = 1 kWh at 0.30 EUR/kWh.
	got, err := s.Cost([]float64{t0, t0 + 1800}, []float64{2000, 2000})
	if err != nil || !near(got, 0.30) {
		t.Fatalf("got %v, %v; want 0.30", got, err)
	}
}

func TestCostGaps(t *testing.T) {
	nan := math.NaN()
	// Prices over [t0, t0+3600) with a null quarter hour at 1800.
	s := stepsOf(t, []float64{t0, t0 + 1800, t0 + 2700}, []float64{100, nan, 100}, t0+3600)
	tests := []struct {
		name     string
		times    []float64
		from, to float64
		gaps     int
		total    float64
	}{
		{"null interval", []float64{t0, t0 + 3600}, t0 + 1800, t0 + 2700, 1, 900},
		{"before the series", []float64{t0 - 60, t0 + 600}, t0 - 60, t0, 1, 60},
		{"after the series", []float64{t0 + 3000, t0 + 3660}, t0 + 3600, t0 + 3660, 1, 60},
		{"two gaps", []float64{t0 - 60, t0 + 3660}, t0 - 60, t0, 3, 60 + 900 + 60},
		{"one sample in a gap", []float64{t0 + 2000}, t0 + 2000, t0 + 2000, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			power := make([]float64, len(tc.times))
			for i := range power {
				power[i] = 1000
			}
			got, err := s.Cost(tc.times, power)
			if !errors.Is(err, ErrNoData) {
				t.Fatalf("got %v, %v; want ErrNoData", got, err)
			}
			var ge *GapError
			if !errors.As(err, &ge) || ge.From != tc.from || ge.To != tc.to || ge.Gaps != tc.gaps || ge.Total != tc.total {
				t.Fatalf("gap = %+v; want %v..%v, %d gaps, %v s", ge, tc.from, tc.to, tc.gaps, tc.total)
			}
			if got != 0 {
				t.Fatalf("cost %v with an error", got)
			}
		})
	}
	_, err := s.Cost([]float64{t0, t0 + 3600}, []float64{1, 1})
	if want := "no data for 2024-01-01T00:30:00Z to 2024-01-01T00:45:00Z"; err == nil || err.Error() != want {
		t.Fatalf("message %q; want %q", err, want)
	}
}

func TestCostBadInput(t *testing.T) {
	s := stepsOf(t, []float64{t0}, []float64{100}, t0+3600)
	for name, c := range map[string][2][]float64{
		"decreasing": {{t0 + 10, t0}, {1, 1}},
		"lengths":    {{t0, t0 + 1}, {1}},
		"infinite":   {{t0, math.Inf(1)}, {1, 1}},
	} {
		if _, err := s.Cost(c[0], c[1]); err == nil || errors.Is(err, ErrNoData) {
			t.Errorf("%s: err = %v; want an input error", name, err)
		}
	}
}

func TestAt(t *testing.T) {
	s := stepsOf(t, []float64{t0, t0 + 900, t0 + 1800}, []float64{1, math.NaN(), 3}, t0+2700)
	tests := []struct {
		t    float64
		want float64
		ok   bool
	}{
		{t0 - 1, 0, false}, {t0, 1, true}, {t0 + 899.9, 1, true}, {t0 + 900, 0, false},
		{t0 + 1800, 3, true}, {t0 + 2699, 3, true}, {t0 + 2700, 0, false},
	}
	for _, tc := range tests {
		v, ok := s.At(tc.t)
		if ok != tc.ok || (ok && v != tc.want) {
			t.Errorf("At(t0%+v) = %v, %v; want %v, %v", tc.t-t0, v, ok, tc.want, tc.ok)
		}
	}
}

func TestNewSeriesChecks(t *testing.T) {
	for name, iv := range map[string][]Interval{
		"empty interval": {{Start: 1, End: 1}},
		"overlap":        {{Start: 0, End: 10}, {Start: 5, End: 20}},
		"NaN bound":      {{Start: math.NaN(), End: 1}},
	} {
		if _, err := NewSeries(iv); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewSeries([]Interval{{Start: 0, End: 10}, {Start: 20, End: 30}}); err != nil {
		t.Errorf("gap between intervals: %v", err)
	}
}

// The exact integral agrees with a fine midpoint sum on random curves.
func TestCostMatchesNumeric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		var pt, pv []float64
		for x := 0.0; x < 7200; x += 1 + r.Float64()*600 {
			pt, pv = append(pt, t0+x), append(pv, r.Float64()*200-20)
		}
		s := stepsOf(t, pt, pv, t0+7200)
		var times, power []float64
		for x := r.Float64() * 100; x < 7100; x += 1 + r.Float64()*300 {
			times, power = append(times, t0+x), append(power, r.Float64()*3000)
		}
		got, err := s.Cost(times, power)
		if err != nil {
			t.Fatal(err)
		}
		const n = 400000
		sum := 0.0
		a, b := times[0], times[len(times)-1]
		h := (b - a) / n
		k := 0
		for i := range n {
			x := a + (float64(i)+0.5)*h
			for times[k+1] < x {
				k++
			}
			p := power[k] + (power[k+1]-power[k])*(x-times[k])/(times[k+1]-times[k])
			v, _ := s.At(x)
			sum += p * v * h
		}
		want := sum / 3.6e9
		if math.Abs(got-want) > 1e-3*math.Max(math.Abs(want), 1e-3) {
			t.Fatalf("trial %d: exact %v, numeric %v", trial, got, want)
		}
	}
}

func TestGapErrorMessage(t *testing.T) {
	e := &GapError{From: t0, To: t0 + 60, Gaps: 3, Total: 3600}
	if !strings.Contains(e.Error(), "2 more gaps (1h0m0s uncovered in all)") {
		t.Fatal(e.Error())
	}
}

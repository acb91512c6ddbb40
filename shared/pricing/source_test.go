package pricing

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var zeroTime time.Time

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prices.csv")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCSVFile(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []Interval
		wantErr string
	}{
		{"header", "epoch_seconds,eur_per_mwh\n100,50\n200,60.5\n", []Interval{{100, 200, 50}, {200, 300, 60.5}}, ""},
		{"no header, CRLF, spaces", "100, 50\r\n160 ,-5\r\n", []Interval{{100, 160, 50}, {160, 220, -5}}, ""},
		{"one line", "100,50", []Interval{{100, math.Inf(1), 50}}, ""},
		{"blank line", "100,50\n\n200,60\n", nil, "line 2: blank line"},
		{"bad value", "t,v\n100,50\n200,abc\n", nil, `line 3: value "abc" is not a number`},
		{"bad time", "100,50\nx,60\n", nil, `line 2: time "x" is not a number`},
		{"three fields", "100,50,1\n", nil, "line 1: want 2 comma-separated fields, got 3"},
		{"not increasing", "100,50\n100,60\n", nil, "line 2: time 100 is not after"},
		{"NaN value", "100,NaN\n", nil, "line 1: value"},
		{"header only", "epoch_seconds,eur_per_mwh\n", nil, "has no data"},
		{"empty", "", nil, "has no data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := CSVFile{Path: writeFile(t, tc.body)}.Series(t.Context(), zeroTime, zeroTime)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Intervals()
			if len(got) != len(tc.want) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v; want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := (CSVFile{Path: filepath.Join(t.TempDir(), "missing.csv")}).Series(t.Context(), zeroTime, zeroTime); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCarbonFile(t *testing.T) {
	// 2000 W for 30 min = 1 kWh; 300 g/kWh for 10 min, then 450:
	// 1/3 kWh * 300 g + 2/3 kWh * 450 g = 100 + 300 = 400 g = 0.4 kg.
	p := writeFile(t, "epoch_seconds,g_co2_per_kwh\n1000,300\n1600,450\n2800,450\n")
	s, err := CarbonFile{Path: p}.Series(t.Context(), zeroTime, zeroTime)
	if err != nil {
		t.Fatal(err)
	}
	kg, err := s.Carbon([]float64{1000, 2800}, []float64{2000, 2000})
	if err != nil || !near(kg, 0.4) {
		t.Fatalf("got %v, %v; want 0.4 kg", kg, err)
	}
}

func TestParse(t *testing.T) {
	file := writeFile(t, "1,2\n")
	tests := []struct {
		spec    string
		want    string // fmt of the source; "" for nil
		wantErr string
	}{
		{"", "", ""},
		{"off", "", ""},
		{" OFF ", "", ""},
		{"smard", "smard:DE-LU:quarterhour (filter 4169)", ""},
		{"smard:AT", "smard:AT:quarterhour (filter 4169)", ""},
		{"smard:AT:hour", "smard:AT:hour (filter 4169)", ""},
		{"smard:AT:day", "", "resolution"},
		{"smard:../x", "", "not a region code"},
		{"file:" + file, "file:" + file, ""},
		{"file:" + file + ".missing", "", "no such file"},
		{"file:", "", "no path"},
		{"fixed:0.30", "fixed:0.3 EUR/kWh", ""},
		{"fixed:abc", "", "not a number"},
		{"fixed:Inf", "", "not a number"},
		{"off:1", "", "want off"},
		{"tibber", "", "want off"},
	}
	for _, tc := range tests {
		src, err := Parse(tc.spec, nil)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) err = %v; want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		got := ""
		if src != nil {
			got = src.(interface{ String() string }).String()
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %q; want %q", tc.spec, got, tc.want)
		}
	}
	cache := newMemCache()
	src, _ := Parse("smard", cache)
	if src.(*SMARD).Cache != cache {
		t.Error("Parse did not pass the cache on")
	}
}

func TestParseCarbon(t *testing.T) {
	file := writeFile(t, "1,2\n")
	for spec, want := range map[string]Source{
		"":             nil,
		"off":          nil,
		"file:" + file: CarbonFile{Path: file},
		"fixed:420":    Constant{Value: 420},
	} {
		got, err := ParseCarbon(spec)
		if err != nil || got != want {
			t.Errorf("ParseCarbon(%q) = %v, %v; want %v", spec, got, err, want)
		}
	}
	for _, spec := range []string{"smard", "fixed:x", "file:" + file + "x"} {
		if _, err := ParseCarbon(spec); err == nil {
			t.Errorf("ParseCarbon(%q): no error", spec)
		}
	}
}

type failing struct{}

func (failing) Series(context.Context, time.Time, time.Time) (*Series, error) {
	return nil, errors.New("source down")
}

func TestAssess(t *testing.T) {
	times := []float64{t0, t0 + 1800}
	power := []float64{2000, 2000} // 1 kWh
	t.Run("both", func(t *testing.T) {
		f := Assess(t.Context(), Fixed{EURPerKWh: 0.30}, Constant{Value: 400}, times, power)
		if f.CostEUR == nil || !near(*f.CostEUR, 0.30) || f.CarbonKgCO2e == nil || !near(*f.CarbonKgCO2e, 0.4) {
			t.Fatalf("%+v", f)
		}
		if f.CostError != "" || f.CarbonError != "" || f.PriceSource != "fixed:0.3 EUR/kWh" || f.CarbonSource != "fixed:400" {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("off", func(t *testing.T) {
		if f := Assess(t.Context(), nil, nil, times, power); f.CostEUR != nil || f.CarbonKgCO2e != nil || f.CostError != "" || f.PriceSource != "" {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("failures", func(t *testing.T) {
		// The carbon series ends before the job does.
		short := writeFile(t, "0,400\n100,400\n")
		f := Assess(t.Context(), failing{}, CarbonFile{Path: short}, times, power)
		if f.CostEUR != nil || f.CostError != "source down" {
			t.Fatalf("cost %+v", f)
		}
		if f.CarbonKgCO2e != nil || !strings.HasPrefix(f.CarbonError, "no data for ") {
			t.Fatalf("carbon %+v", f)
		}
	})
	t.Run("no samples", func(t *testing.T) {
		f := Assess(t.Context(), Fixed{EURPerKWh: 1}, nil, []float64{math.NaN()}, []float64{1})
		if f.CostEUR != nil || f.CostError != "no power samples with a time" {
			t.Fatalf("%+v", f)
		}
	})
}

package testenv

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
)

// sharedDir is the shared module's root (testkit's sibling), wherever
// the test runs from.
func sharedDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(file))), "shared")
}

// FixtureDir holds the HDF5 test files (copies of ../shared/fixtures,
// the real ones included).
func FixtureDir() string { return filepath.Join(sharedDir(), "hdf5", "testdata", "fixtures") }

// ExpectedDir holds what the original pipeline produced for each fixture.
func ExpectedDir() string { return filepath.Join(sharedDir(), "testdata", "expected") }

// Expected is an expected file of the original pipeline.
type Expected struct {
	Columns    []string          `json:"columns"`
	DTypes     []analysis.DType  `json:"dtypes"`
	Rows       int64             `json:"rows"`
	Metrics    *analysis.Metrics `json:"metrics"`
	SkipReason *string           `json:"skip_reason"`
	Details    struct {
		JobID        string                 `json:"job_id"`
		TableName    string                 `json:"table_name"`
		Groups       []analysis.GroupReport `json:"groups"`
		Group        *string                `json:"group"`
		EpochColumn  *string                `json:"epoch_column"`
		PowerColumn  *string                `json:"power_column"`
		EnergyColumn *string                `json:"energy_column"`
	} `json:"details"`
}

// ExpectedName is the name of a fixture's expected files (the real files
// are stored as real__<name>).
func ExpectedName(tb testing.TB, fixture string) string {
	tb.Helper()
	base := filepath.Base(fixture)
	for _, n := range []string{base, "real__" + base} {
		if _, err := os.Stat(filepath.Join(ExpectedDir(), n+".json")); err == nil {
			return n
		}
	}
	tb.Fatalf("no expected file for %s", base)
	return ""
}

// LoadExpected reads a fixture's expected JSON and returns it with the
// path of its expected CSV.
func LoadExpected(tb testing.TB, fixture string) (Expected, string) {
	tb.Helper()
	name := ExpectedName(tb, fixture)
	var want Expected
	b, err := os.ReadFile(filepath.Join(ExpectedDir(), name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		tb.Fatal(err)
	}
	return want, filepath.Join(ExpectedDir(), name+".csv")
}

// RelClose reports a and b equal within tol, relative.
func RelClose(a, b, tol float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}

// CompareMetrics checks metrics against the expected ones: the figures
// within 1e-9 relative, null where null, the appliance comparison exactly.
func CompareMetrics(tb testing.TB, got, want *analysis.Metrics) {
	tb.Helper()
	if (got == nil) != (want == nil) {
		tb.Fatalf("metrics %+v, want %+v", got, want)
	}
	if got == nil {
		return
	}
	for _, f := range []struct {
		name      string
		got, want *float64
	}{
		{"energy_to_solution_j", got.EnergyToSolutionJ, want.EnergyToSolutionJ},
		{"time_to_solution_s", got.TimeToSolutionS, want.TimeToSolutionS},
		{"average_power_w", got.AveragePowerW, want.AveragePowerW},
		{"peak_power_w", got.PeakPowerW, want.PeakPowerW},
		{"peak_power_time_s", got.PeakPowerTimeS, want.PeakPowerTimeS},
		{"energy_delay_product", got.EnergyDelayProduct, want.EnergyDelayProduct},
	} {
		switch {
		case (f.got == nil) != (f.want == nil):
			tb.Errorf("%s: %v, want %v", f.name, PtrString(f.got), PtrString(f.want))
		case f.got != nil && !RelClose(*f.got, *f.want, 1e-9):
			tb.Errorf("%s: %v, want %v", f.name, *f.got, *f.want)
		}
	}
	if got.ApplianceName != want.ApplianceName || got.ApplianceUnit != want.ApplianceUnit ||
		got.ApplianceAmount != want.ApplianceAmount || got.ApplianceDescription != want.ApplianceDescription {
		tb.Errorf("appliance %q %v %q %q, want %q %v %q %q", got.ApplianceName, got.ApplianceAmount, got.ApplianceUnit, got.ApplianceDescription,
			want.ApplianceName, want.ApplianceAmount, want.ApplianceUnit, want.ApplianceDescription)
	}
}

// PtrString prints an optional float, "null" for nil.
func PtrString(p *float64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

package compat

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// node builds /node01 with the given datasets ("Tasks/0" makes the group).
func node(series map[string][]profile.Column) *profile.Group {
	n := &profile.Group{Name: "node01", Parts: []string{"node01"}}
	var tasks *profile.Group
	for name, cols := range series {
		g, parts := n, []string{"node01"}
		if rest, ok := strings.CutPrefix(name, "Tasks/"); ok {
			if tasks == nil {
				tasks = &profile.Group{Name: "Tasks", Parts: []string{"node01", "Tasks"}}
				n.Items = append(n.Items, profile.Item{Group: tasks})
			}
			g, parts, name = tasks, tasks.Parts, rest
		}
		ds := &profile.Dataset{Name: name, Parts: append(append([]string(nil), parts...), name), Compound: true, Columns: cols}
		if len(cols) == 1 && cols[0].Name == "value" {
			ds.Compound, ds.Shape = false, []uint64{uint64(cols[0].Len())}
		}
		g.Items = append(g.Items, profile.Item{Dataset: ds})
	}
	sortTree(n)
	return n
}

func u64(name string, v ...uint64) profile.Column {
	return profile.Column{Name: name, Kind: profile.Uint, Size: 8, U: v}
}

func i64(name string, v ...int64) profile.Column {
	return profile.Column{Name: name, Kind: profile.Int, Size: 8, I: v}
}

func f64(name string, v ...float64) profile.Column {
	return profile.Column{Name: name, Kind: profile.Float, Size: 8, F: v}
}

// run writes root to a file, analyses it and checks the engine against
// the oracle; it returns the result and the rows.
func run(t *testing.T, e *testEngine, root *profile.Group) (*analysis.Result, [][]any) {
	t.Helper()
	res := againstOracle(t, e, filepath.Join(t.TempDir(), "42_0_edge.h5"), root)
	var rows [][]any
	if res.Skip == nil {
		if err := e.ScanRows(context.Background(), func(row []any) error {
			rows = append(rows, append([]any(nil), row...))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return res, rows
}

// againstOracle writes root to path, analyses it and checks the engine
// against the oracle.
func againstOracle(t *testing.T, e *testEngine, path string, root *profile.Group) *analysis.Result {
	t.Helper()
	if err := hdf5.WriteFile(path, root, hdf5.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Compat(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	compareWithOracle(t, e, res, runOracle(path))
	return res
}

func column(t *testing.T, res *analysis.Result, rows [][]any, name string) []any {
	t.Helper()
	for i, c := range res.Columns {
		if c.Name == name {
			out := make([]any, len(rows))
			for r := range rows {
				out[r] = rows[r][i]
			}
			return out
		}
	}
	t.Fatalf("no column %s in %v", name, res.Columns)
	return nil
}

func TestEdgeCases(t *testing.T) {
	e := newTestEngine(t)
	root := func(n *profile.Group) *profile.Group { return &profile.Group{Items: []profile.Item{{Group: n}}} }
	epoch := func(n int) profile.Column {
		c := u64("EpochTime")
		for i := 0; i < n; i++ {
			c.U = append(c.U, 1_700_000_000+uint64(i))
		}
		return c
	}
	maxF32 := float64(math.MaxFloat32)
	// The smallest float64 that rounds to +Inf as float32 (halfway
	// between MaxFloat32 and 2^128).
	const float32Overflow = 3.4028235677973366e38

	t.Run("float32 overflow in a v>=0 column", func(t *testing.T) {
		// numpy and Go give +Inf from the rounding midpoint on, MaxFloat32
		// just below it.
		cpu := []float64{1e39, float32Overflow, math.Nextafter(float32Overflow, 0), maxF32, -1, math.MaxFloat64}
		res, rows := run(t, e, root(node(map[string][]profile.Column{
			"Tasks/0": {u64("ElapsedTime", 0, 1, 2, 3, 4, 5), epoch(6), f64("CPUTime", cpu...)},
		})))
		got := column(t, res, rows, "Tasks__0__CPUTime")
		want := []any{float32(math.Inf(1)), float32(math.Inf(1)), float32(math.MaxFloat32), float32(math.MaxFloat32), nil, float32(math.Inf(1))}
		for i := range want {
			if !sameValue(got[i], want[i]) {
				t.Errorf("row %d: %v, want %v", i, got[i], want[i])
			}
		}
	})

	t.Run("NaN and infinities", func(t *testing.T) {
		nan, inf := math.NaN(), math.Inf(1)
		res, rows := run(t, e, root(node(map[string][]profile.Column{
			"Energy":  {u64("ElapsedTime", 0, 1, 2, 3, 4), epoch(5), f64("NodePower", 100, nan, 200, inf, 300), f64("Temp", nan, 1, inf, -inf, 2)},
			"Tasks/0": {u64("ElapsedTime", 0, 4), epoch(2), f64("CPUUtilization", nan, 50)},
		})))
		// A Float64 column keeps NaN and the infinities; range rules drop them.
		temp := column(t, res, rows, "Energy__Temp")
		if x, _ := temp[0].(float64); !math.IsNaN(x) || temp[2] != inf || temp[3] != math.Inf(-1) {
			t.Errorf("Temp %v", temp)
		}
		for i, v := range column(t, res, rows, "Energy__NodePower") {
			if (i == 1 || i == 3) != (v == nil) {
				t.Errorf("NodePower row %d: %v", i, v)
			}
		}
		// NaN interpolates to NaN, which the [0,100] rule drops.
		for i, v := range column(t, res, rows, "Tasks__0__CPUUtilization") {
			if (i < 4) != (v == nil) {
				t.Errorf("CPUUtilization row %d: %v", i, v)
			}
		}
		if res.Metrics == nil || res.Metrics.PeakPowerW != nil {
			t.Errorf("an infinite peak is reported as null: %+v", res.Metrics)
		}
	})

	t.Run("non-finite power on a duplicate row", func(t *testing.T) {
		// The second row at t=2 adds 0*Inf = NaN: Energy_used_J is NaN
		// (NULL in the table) from there on, and ETS is the last finite sum.
		res, rows := run(t, e, root(node(map[string][]profile.Column{
			"Energy": {u64("ElapsedTime", 0, 1, 2, 2, 3), epoch(5), f64("NodePower", 10, 20, 30, math.Inf(1), 40)},
		})))
		used := column(t, res, rows, "Energy_used_J")
		if used[2] != float32(50) || used[3] != nil || used[4] != nil {
			t.Errorf("Energy_used_J %v", used)
		}
		if res.Metrics == nil || res.Metrics.EnergyToSolutionJ == nil || *res.Metrics.EnergyToSolutionJ != 50 {
			t.Errorf("metrics %+v", res.Metrics)
		}
	})

	t.Run("non-monotonic times", func(t *testing.T) {
		// Stable sort by the float value, then truncation: 2.7 and 2.2
		// become two rows at 2 in the order 2.2, 2.7.
		res, rows := run(t, e, root(node(map[string][]profile.Column{
			"Energy": {f64("ElapsedTime", 3, 2.7, 0, 2.2, 1), epoch(5), u64("NodePower", 40, 30, 10, 20, 50)},
		})))
		if got := column(t, res, rows, "Energy__NodePower"); !sameValue(got[1], float32(50)) || !sameValue(got[2], float32(20)) || !sameValue(got[3], float32(30)) {
			t.Errorf("NodePower %v", got)
		}
		if got := column(t, res, rows, "ElapsedTime"); got[2] != uint64(2) || got[3] != uint64(2) {
			t.Errorf("ElapsedTime %v", got)
		}
	})

	t.Run("negative time", func(t *testing.T) {
		res, _ := run(t, e, root(node(map[string][]profile.Column{
			"Energy": {i64("ElapsedTime", 0, -1, 2), epoch(3), u64("NodePower", 1, 2, 3)},
		})))
		if res.Skip == nil || res.Skip.Class != analysis.SkipUnexpected {
			t.Errorf("skip %v", res.Skip)
		}
	})

	t.Run("NaN epoch", func(t *testing.T) {
		res, _ := run(t, e, root(node(map[string][]profile.Column{
			"Energy": {u64("ElapsedTime", 0, 1, 2), f64("EpochTime", 1e9, math.NaN(), 1e9), u64("NodePower", 1, 2, 3)},
		})))
		if res.Skip == nil || res.Skip.Class != analysis.SkipUnexpected {
			t.Errorf("skip %v", res.Skip)
		}
	})

	t.Run("zero rows", func(t *testing.T) {
		n := node(map[string][]profile.Column{"Energy": {f64("value")}})
		res, _ := run(t, e, root(n))
		if res.Skip == nil || res.Skip.Class != analysis.SkipNoData || res.Details.Groups[0].Empty != 1 {
			t.Errorf("skip %v, groups %+v", res.Skip, res.Details.Groups)
		}
		// Every row past 1e7 s: the energy filter leaves none.
		res, _ = run(t, e, root(node(map[string][]profile.Column{
			"Energy": {u64("ElapsedTime", 1e7, 1e7+1), epoch(2), u64("NodePower", 1, 2)},
		})))
		if res.Skip == nil || res.Skip.Class != analysis.SkipNoData {
			t.Errorf("skip %v", res.Skip)
		}
	})

	t.Run("generic datasets without ElapsedTime", func(t *testing.T) {
		res, rows := run(t, e, root(node(map[string][]profile.Column{
			"series": {f64("value", 1.5, 2.5, 3.5)},
			"Power":  {u64("ElapsedTime", 0, 2), u64("Power", 100, 200)},
		})))
		if res.Metrics != nil || len(rows) != 3 {
			t.Fatalf("metrics %v, %d rows", res.Metrics, len(rows))
		}
		want := []string{"ElapsedTime", "Power__Power", "series__value"}
		for i, c := range res.Columns {
			if c.Name != want[i] || (i > 0) != (c.Type == analysis.Float64) {
				t.Errorf("column %d: %v", i, c)
			}
		}
		// The row index is the time; Power__Power is interpolated at 1.
		if !sameValue(rows[1][1], 150.0) || !sameValue(rows[2][2], 3.5) {
			t.Errorf("rows %v", rows)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		res, err := e.Compat(context.Background(), filepath.Join(t.TempDir(), "nope.h5"), Options{})
		if err != nil || res.Skip == nil || res.Skip.Class != analysis.SkipMissing {
			t.Errorf("%v %v", res, err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.Compat(ctx, filepath.Join(fixtureDir, "12345_0_node01.h5"), Options{}); err == nil {
			t.Error("no error for a cancelled context")
		}
	})
}

// TestManyDatasets: hostile widths. Thousands of datasets without values
// (only ElapsedTime) cost the merge their times, not times × datasets,
// and match the oracle; a table wider than PostgreSQL allows is skipped
// as too_large before it is computed.
func TestManyDatasets(t *testing.T) {
	e := newTestEngine(t)
	t.Run("3000 datasets of one row", func(t *testing.T) {
		const n = 3000
		series := map[string][]profile.Column{"Energy": {u64("ElapsedTime", 0, n), u64("NodePower", 100, 200)}}
		for i := 0; i < n; i++ {
			series["Tasks/"+strconv.Itoa(i)] = []profile.Column{u64("ElapsedTime", uint64(i))}
		}
		root := &profile.Group{Items: []profile.Item{{Group: node(series)}}}
		res := againstOracle(t, e, filepath.Join(t.TempDir(), "42_0_many.h5"), root)
		if res.Skip != nil || res.Rows != n+1 {
			t.Fatalf("skip %v, rows %d", res.Skip, res.Rows)
		}
		if p := e.lastPlan; p.visits != n+2 { // each dataset's one time, Energy's two
			t.Errorf("the merge touched %d frames for %d frame times", p.visits, n+2)
		}
	})
	t.Run("wider than PostgreSQL", func(t *testing.T) {
		series := map[string][]profile.Column{}
		for d := 0; d < 2; d++ {
			cols := []profile.Column{u64("ElapsedTime", 0, 1)}
			for j := 0; j < analysis.MaxColumns/2; j++ {
				cols = append(cols, f64("m"+strconv.Itoa(j), 1, 2))
			}
			series["Tasks/"+strconv.Itoa(d)] = cols
		}
		root := &profile.Group{Items: []profile.Item{{Group: node(series)}}}
		path := filepath.Join(t.TempDir(), "42_0_wide.h5")
		if err := hdf5.WriteFile(path, root, hdf5.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := e.Compat(context.Background(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res.Skip)
		if res.Skip == nil || res.Skip.Class != analysis.SkipTooLarge || !strings.Contains(res.Skip.Detail, "columns") {
			t.Fatalf("skip %v, want too_large for the columns", res.Skip)
		}
	})
}

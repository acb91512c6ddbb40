package compat

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/profile"
	"github.com/benchwrap/backend/testkit/testenv"
)

// The oracle reproduces the expected files: it is a valid reference for
// the randomized comparison below.
func TestOracleMatchesExpected(t *testing.T) {
	fixtures, _ := filepath.Glob(filepath.Join(fixtureDir, "*.h5"))
	for _, fx := range fixtures {
		t.Run(filepath.Base(fx), func(t *testing.T) {
			name := testenv.ExpectedName(t, fx)
			want, _ := testenv.LoadExpected(t, fx)
			o := runOracle(fx)
			if want.SkipReason != nil {
				if o.skip != skipClasses[*want.SkipReason] {
					t.Fatalf("skip %q, want %q", o.skip, *want.SkipReason)
				}
				return
			}
			if o.skip != "" {
				t.Fatalf("skipped: %s", o.skip)
			}
			if len(o.columns) != len(want.Columns) || int64(len(o.rows)) != want.Rows {
				t.Fatalf("%d columns %d rows, want %d %d", len(o.columns), len(o.rows), len(want.Columns), want.Rows)
			}
			for i, c := range o.columns {
				if c.Name != want.Columns[i] || c.Type != want.DTypes[i] {
					t.Errorf("column %d: %v, want %s %s", i, c, want.Columns[i], want.DTypes[i])
				}
			}
			testenv.CompareMetrics(t, o.metrics, want.Metrics)
			body := readCSV(t, filepath.Join(expectedDir, name+".csv"))[1:]
			bad := 0
			for r, row := range o.rows {
				for c, v := range row {
					// Exact: the CSV holds the shortest digits of each value.
					if got := string(engine.AppendValue(nil, v)); got != body[r][c] && bad < 5 {
						bad++
						t.Errorf("row %d column %s: %s, want %s", r, want.Columns[c], got, body[r][c])
					}
				}
			}
		})
	}
}

// TestCompatRandom compares the engine with the oracle on generated files
// that exercise what the fixtures do not: duplicate times in several
// frames at once, gaps, frames that start late or end early, unsorted and
// fractional times, NaN and infinities, values beyond float32, negative
// values, fractional power (the running sum in Go), a non-finite power on
// a duplicate row, rows past 1e7 s, both energy paths and none.
func TestCompatRandom(t *testing.T) {
	e := newTestEngine(t)
	dir := t.TempDir()
	n := 60
	if testing.Short() {
		n = 15
	}
	var dups, absent, plain int // plans with duplicate times, with a frame absent at some time, with neither
	for seed := 0; seed < n; seed++ {
		t.Run(strconv.Itoa(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 7))
			got := againstOracle(t, e, filepath.Join(dir, fmt.Sprintf("%d_0_rand.h5", seed)), randomTree(r))
			p := e.lastPlan
			t.Logf("skip=%v rows=%d cols=%d power=%q energy=%q dups=%v absent=%v", got.Skip, got.Rows, len(got.Columns), got.Details.PowerColumn, got.Details.EnergyColumn, p.dups, p.absent)
			if got.Skip != nil {
				return
			}
			hasAbsent := false
			for _, a := range p.absent {
				hasAbsent = hasAbsent || a
			}
			if p.dups {
				dups++
			}
			if hasAbsent {
				absent++
			}
			if !p.dups && !hasAbsent {
				plain++
			}
		})
	}
	if !testing.Short() && (dups == 0 || absent == 0 || plain == 0) {
		t.Errorf("shapes not all taken: %d with duplicate times, %d with absent frames, %d with neither", dups, absent, plain)
	}
}

func compareWithOracle(t *testing.T, e *testEngine, got *analysis.Result, want oracle) {
	t.Helper()
	if want.skip != "" || got.Skip != nil {
		if got.Skip == nil || got.Skip.Class != want.skip {
			t.Fatalf("skip %v, oracle %q", got.Skip, want.skip)
		}
		return
	}
	compareGroups(t, got.Details.Groups, want.groups)
	d := got.Details
	if d.Group != want.group || d.EpochColumn != want.epoch || d.PowerColumn != want.power || d.EnergyColumn != want.energy {
		t.Errorf("details %q %q %q %q, oracle %q %q %q %q", d.Group, d.EpochColumn, d.PowerColumn, d.EnergyColumn,
			want.group, want.epoch, want.power, want.energy)
	}
	if fmt.Sprint(got.Columns) != fmt.Sprint(want.columns) {
		t.Fatalf("columns\n got  %v\n want %v", got.Columns, want.columns)
	}
	if got.Rows != int64(len(want.rows)) {
		t.Fatalf("rows %d, oracle %d", got.Rows, len(want.rows))
	}
	if (got.Metrics == nil) != (want.metrics == nil) {
		t.Fatalf("metrics %v, oracle %v", got.Metrics, want.metrics)
	}
	if got.Metrics != nil && fmt.Sprint(metricValues(got.Metrics)) != fmt.Sprint(metricValues(want.metrics)) {
		t.Errorf("metrics\n got  %v\n want %v", metricValues(got.Metrics), metricValues(want.metrics))
	}
	n, bad := 0, 0
	err := e.ScanRows(context.Background(), func(row []any) error {
		for c, v := range row {
			if !sameValue(v, want.rows[n][c]) {
				bad++
				if bad <= 5 {
					t.Errorf("row %d column %s: %s, oracle %s", n, want.columns[c].Name, valueString(v), valueString(want.rows[n][c]))
				}
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad > 5 {
		t.Errorf("%d cells differ", bad)
	}
	compareFloatRows(t, e, want)
}

// compareFloatRows checks the unboxed rows, when the table gives them,
// against the typed ones: NaN exactly where NULL, the same number
// elsewhere.
func compareFloatRows(t *testing.T, e *testEngine, want oracle) {
	t.Helper()
	n, bad := 0, 0
	ok, err := e.ScanFloatRows(context.Background(), func(texts []string, values []float64) error {
		for c, v := range values {
			w := want.rows[n][c]
			good := math.IsNaN(v) && w == nil
			if w != nil {
				f := analysis.Number(w)
				good = !math.IsNaN(f) && math.Float64bits(f) == math.Float64bits(v)
			}
			if !good {
				bad++
				if bad <= 5 {
					t.Errorf("unboxed row %d column %s: %v, oracle %s", n, want.columns[c].Name, v, valueString(w))
				}
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok && n != len(want.rows) {
		t.Errorf("%d unboxed rows, oracle %d", n, len(want.rows))
	}
}

func metricValues(m *analysis.Metrics) []string {
	var out []string
	for _, p := range []*float64{m.EnergyToSolutionJ, m.TimeToSolutionS, m.AveragePowerW, m.PeakPowerW, m.PeakPowerTimeS, m.EnergyDelayProduct} {
		out = append(out, testenv.PtrString(p))
	}
	return append(out, m.ApplianceDescription)
}

// sameValue compares two cells exactly: same type, same bits (any NaN
// equals any NaN).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y))
	case float32:
		y, ok := b.(float32)
		return ok && (math.Float32bits(x) == math.Float32bits(y) || x != x && y != y)
	}
	return a == b
}

// randomTree generates a node-step-like file: optional empty first group,
// then node01 with an Energy series and tasks, sometimes extra series.
func randomTree(r *rand.Rand) *profile.Group {
	root := &profile.Group{}
	if r.IntN(5) == 0 {
		g := &profile.Group{Name: "a_first", Parts: []string{"a_first"}}
		c := fcol("value", 0)
		g.Items = append(g.Items, profile.Item{Dataset: &profile.Dataset{Name: "x", Parts: []string{"a_first", "x"}, Shape: []uint64{0}, Columns: []profile.Column{c}}})
		root.Items = append(root.Items, profile.Item{Group: g})
	}
	node := &profile.Group{Name: "node01", Parts: []string{"node01"}}
	root.Items = append(root.Items, profile.Item{Group: node})
	span := 20 + r.IntN(60)
	big := r.IntN(12) == 0    // times past 1e7
	frac := r.IntN(6) == 0    // fractional ElapsedTime
	aligned := r.IntN(3) == 0 // Energy at every second, the rest on its times (a dense frame)
	if aligned {
		big, frac = false, false
	}
	times := func(n, step int) []float64 {
		if aligned && step == 1 {
			ts := make([]float64, span)
			for i := range ts {
				ts[i] = float64(i)
			}
			return ts
		}
		start := 0
		if r.IntN(3) == 0 {
			start = r.IntN(span / 3)
		}
		var ts []float64
		for t := start; len(ts) < n && t < span; t += step {
			if r.IntN(6) == 0 && !aligned {
				continue // gap
			}
			ts = append(ts, float64(t))
			for r.IntN(7) == 0 {
				ts = append(ts, float64(t)) // duplicate time
			}
		}
		if len(ts) == 0 {
			ts = []float64{float64(start)}
		}
		if big {
			ts = append(ts, 1e7+float64(r.IntN(3)))
		}
		if frac {
			for i := range ts {
				ts[i] += r.Float64() * 0.999
			}
		}
		if r.IntN(6) == 0 { // unsorted
			i, j := r.IntN(len(ts)), r.IntN(len(ts))
			ts[i], ts[j] = ts[j], ts[i]
		}
		return ts
	}
	value := func(base float64, spread float64, allowOdd bool) float64 {
		v := base + math.Round(r.Float64()*spread)
		if r.IntN(4) == 0 {
			v += r.Float64() // fractional
		}
		if allowOdd {
			switch r.IntN(40) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(1)
			case 2:
				v = -v
			case 3:
				v = 1e39
			}
		}
		return v
	}
	series := func(name string, ts []float64, members []string, odd bool) *profile.Dataset {
		ds := &profile.Dataset{Name: name, Compound: true}
		et := fcol("ElapsedTime", len(ts))
		ep := ucol("EpochTime", len(ts))
		for _, t := range ts {
			et.F = append(et.F, t)
			ep.U = append(ep.U, 1_700_000_000+uint64(t))
		}
		if !frac && r.IntN(2) == 0 {
			et = ucol("ElapsedTime", len(ts))
			for _, t := range ts {
				et.U = append(et.U, uint64(t))
			}
		}
		ds.Columns = append(ds.Columns, et, ep)
		for _, m := range members {
			c := fcol(m, len(ts))
			integer := r.IntN(2) == 0 && m != "CPUTime" && m != "CPUUtilization"
			for range ts {
				c.F = append(c.F, value(100, 300, odd))
			}
			if integer {
				u := ucol(m, len(ts))
				for _, v := range c.F {
					if math.IsNaN(v) || v < 0 || v > 1e18 {
						v = 0
					}
					u.U = append(u.U, uint64(v))
				}
				c = u
			}
			ds.Columns = append(ds.Columns, c)
		}
		return ds
	}
	var energyMembers []string
	switch r.IntN(4) {
	case 0, 1:
		energyMembers = []string{"NodePower"}
	case 2:
		energyMembers = []string{"Energy", "CurrPower"}
	default:
		energyMembers = []string{"Energy"}
	}
	if r.IntN(8) == 0 {
		energyMembers = []string{"Power"}
	}
	odd := r.IntN(3) == 0
	add := func(g *profile.Group, ds *profile.Dataset) {
		ds.Parts = append(append([]string(nil), g.Parts...), ds.Name)
		g.Items = append(g.Items, profile.Item{Dataset: ds})
	}
	if r.IntN(8) != 0 {
		add(node, series("Energy", times(span, 1), energyMembers, odd))
	}
	tasks := &profile.Group{Name: "Tasks", Parts: []string{"node01", "Tasks"}}
	for i := 0; i < r.IntN(4); i++ {
		add(tasks, series(strconv.Itoa(i), times(span/5+1, 5+r.IntN(5)),
			[]string{"CPUFrequency", "CPUTime", "CPUUtilization", "GPUMemMB", "RSS", "Pages", "ReadMB"}, odd))
	}
	if len(tasks.Items) > 0 {
		node.Items = append(node.Items, profile.Item{Group: tasks})
	}
	if r.IntN(4) == 0 { // a 1-D series without ElapsedTime
		c := fcol("value", 0)
		for i := 0; i < 5+r.IntN(10); i++ {
			c.F = append(c.F, value(1, 10, odd))
		}
		add(node, &profile.Dataset{Name: "series", Shape: []uint64{uint64(len(c.F))}, Columns: []profile.Column{c}})
	}
	if len(node.Items) == 0 {
		add(node, series("Energy", times(span, 1), energyMembers, odd))
	}
	sortTree(node)
	return root
}

func sortTree(g *profile.Group) {
	for _, it := range g.Items {
		if it.Group != nil {
			sortTree(it.Group)
		}
	}
	// Byte order, as the reader lists them.
	for i := 1; i < len(g.Items); i++ {
		for j := i; j > 0 && g.Items[j].Name() < g.Items[j-1].Name(); j-- {
			g.Items[j], g.Items[j-1] = g.Items[j-1], g.Items[j]
		}
	}
}

func ucol(name string, n int) profile.Column {
	return profile.Column{Name: name, Kind: profile.Uint, Size: 8, U: make([]uint64, 0, n)}
}

func fcol(name string, n int) profile.Column {
	return profile.Column{Name: name, Kind: profile.Float, Size: 8, F: make([]float64, 0, n)}
}

// TestCompatShapesMatchOracle: the generator's irregular shapes (issue
// 13's jittered, duplicated and gapped times with every series, and a
// merged file of 4 jittered nodes) agree with the oracle cell by cell.
func TestCompatShapesMatchOracle(t *testing.T) {
	e := newTestEngine(t)
	irregular := func(s *gen.Spec) {
		s.Energy, s.Interval, s.TaskInterval, s.TasksPerNode = gen.EnergyXCC, 3, 15, 3
		s.Series = gen.ParseSeries("all")
	}
	for _, c := range []struct {
		name string
		set  func(*gen.Spec)
	}{
		{"jitter", func(s *gen.Spec) { irregular(s); s.Jitter = 1.5 }},
		{"dups", func(s *gen.Spec) { irregular(s); s.Dups = 0.1 }},
		{"gaps", func(s *gen.Spec) { irregular(s); s.Gaps = 0.1 }},
		{"merged-4-nodes", func(s *gen.Spec) { irregular(s); s.Layout, s.Nodes, s.Jitter = gen.Merged, 4, 1.5 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := gen.Default()
			s.JobID, s.Rows, s.Seed = 900, 3000, 13
			c.set(&s)
			paths, err := gen.Write(t.TempDir(), s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Compat(context.Background(), paths[0], Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Skip != nil || got.Rows == 0 {
				t.Fatalf("skip %v, %d rows", got.Skip, got.Rows)
			}
			compareWithOracle(t, e, got, runOracle(paths[0]))
			t.Logf("%d rows x %d columns, dups %v", got.Rows, len(got.Columns), e.lastPlan.dups)
		})
	}
}

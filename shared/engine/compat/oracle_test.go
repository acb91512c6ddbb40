package compat

import (
	"math"
	"sort"
	"strings"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// oracle is a plain, row-by-row implementation of docs/compat-pipeline.md
// written for the tests, independent of the SQL: the randomized tests
// compare the engine with it cell by cell, bit for bit.
type oracle struct {
	skip    analysis.SkipClass // "" when there is a table
	columns []analysis.Column
	rows    [][]any // typed as ScanRows gives them
	metrics *analysis.Metrics
	groups  []analysis.GroupReport
	group   string
	epoch   string
	power   string
	energy  string
}

type oCol struct {
	name  string
	v     []float64
	ok    []bool
	u     []uint64 // ElapsedTime while it is UInt64
	isU   bool
	dtype analysis.DType
}

type oFrame struct {
	prefix string
	et     []uint64
	names  []string
	vals   [][]float64
}

func runOracle(path string) oracle {
	var o oracle
	f, err := hdf5.ReadFile(path, hdf5.Options{})
	if err != nil {
		if fe, ok := profile.AsFileError(err); ok {
			switch fe.Class {
			case profile.FileEmpty:
				o.skip = analysis.SkipEmpty
			case profile.FileNotHDF5:
				o.skip = analysis.SkipNotHDF5
			default:
				o.skip = analysis.SkipUnreadable
			}
			return o
		}
		o.skip = analysis.SkipUnexpected
		return o
	}
	for _, it := range f.Root.Items {
		var list []*profile.Dataset
		if it.Dataset != nil {
			list = []*profile.Dataset{it.Dataset}
		} else {
			list = it.Group.Datasets()
		}
		g := analysis.GroupReport{Group: it.Name(), Datasets: []analysis.DatasetReport{}}
		var frames []oFrame
		for _, ds := range list {
			g.Total++
			d := analysis.DatasetReport{Path: strings.Join(ds.Parts, "/")}
			switch {
			case ds.Err != nil:
				g.Errors++
				d.Status = engine.DatasetErrorStatus(ds.Err)
			case ds.Rows == 0 || len(ds.Columns) == 0:
				g.Empty++
				d.Status = analysis.DatasetEmpty
			case ds.Column("NodePower") != nil && sumIsZero(ds.Column("NodePower")):
				g.ZeroPower++
				d.Status = analysis.DatasetZeroPower
			default:
				fr, ok := oracleFrame(ds)
				if !ok {
					o.groups = append(o.groups, g)
					o.skip = analysis.SkipUnexpected
					return o
				}
				frames = append(frames, fr)
				d.Status, d.Prefix, d.Rows = analysis.DatasetUsed, fr.prefix, ds.Rows
			}
			g.Datasets = append(g.Datasets, d)
		}
		o.groups = append(o.groups, g)
		if len(frames) > 0 {
			o.group = it.Name()
			o.table(frames)
			return o
		}
	}
	o.skip = analysis.SkipNoData
	return o
}

func oracleFrame(ds *profile.Dataset) (oFrame, bool) {
	n := ds.Rows
	key := make([]float64, n)
	et := ds.Column("ElapsedTime")
	for i := range key {
		if et == nil {
			key[i] = float64(i)
		} else {
			key[i] = et.Float(i)
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if et != nil && et.Kind != profile.Float {
		// Integers sort as integers (a float64 key could merge large ones).
		sort.SliceStable(idx, func(a, b int) bool {
			if et.Kind == profile.Uint {
				return et.U[idx[a]] < et.U[idx[b]]
			}
			return et.I[idx[a]] < et.I[idx[b]]
		})
	} else {
		sort.SliceStable(idx, func(a, b int) bool { return key[idx[a]] < key[idx[b]] })
	}
	fr := oFrame{prefix: ds.Prefix(), et: make([]uint64, n)}
	for i, src := range idx {
		switch {
		case et == nil:
			fr.et[i] = uint64(src)
		case et.Kind == profile.Uint:
			fr.et[i] = et.U[src]
		case et.Kind == profile.Int:
			if et.I[src] < 0 {
				return fr, false
			}
			fr.et[i] = uint64(et.I[src])
		default:
			v := et.F[src]
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= -1 || v >= 1<<64 {
				return fr, false
			}
			fr.et[i] = uint64(math.Trunc(v))
		}
	}
	for ci := range ds.Columns {
		c := &ds.Columns[ci]
		if c.Name == "ElapsedTime" {
			continue
		}
		vals := make([]float64, n)
		for i, src := range idx {
			vals[i] = c.Float(src)
		}
		fr.names = append(fr.names, c.Name)
		fr.vals = append(fr.vals, vals)
	}
	return fr, true
}

func (o *oracle) table(frames []oFrame) {
	// §4: timeline and the join with duplicate multiplication.
	set := map[uint64]bool{}
	for _, f := range frames {
		for _, t := range f.et {
			set[t] = true
		}
	}
	var times []uint64
	for t := range set {
		times = append(times, t)
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	lookup := make([]map[uint64][]int, len(frames))
	for k, f := range frames {
		lookup[k] = map[uint64][]int{}
		for i, t := range f.et {
			lookup[k][t] = append(lookup[k][t], i)
		}
	}
	var rowT []uint64
	rowIdx := make([][]int, len(frames)) // -1 = no row
	for _, t := range times {
		choices := make([][]int, len(frames))
		for k := range frames {
			if c := lookup[k][t]; len(c) > 0 {
				choices[k] = c
			} else {
				choices[k] = []int{-1}
			}
		}
		var rec func(k int, pick []int)
		rec = func(k int, pick []int) {
			if k == len(frames) {
				rowT = append(rowT, t)
				for j, p := range pick {
					rowIdx[j] = append(rowIdx[j], p)
				}
				return
			}
			for _, c := range choices[k] {
				rec(k+1, append(pick, c))
			}
		}
		rec(0, nil)
	}
	n := len(rowT)
	tab := []*oCol{{name: "ElapsedTime", u: rowT, isU: true, ok: trues(n), dtype: analysis.UInt64}}
	for k, f := range frames {
		for j, name := range f.names {
			c := &oCol{name: f.prefix + "__" + name, v: make([]float64, n), ok: make([]bool, n), dtype: analysis.Float64}
			for r, i := range rowIdx[k] {
				if i >= 0 {
					c.v[r], c.ok[r] = f.vals[j][i], true
				}
			}
			interpolate(c)
			tab = append(tab, c)
		}
	}
	find := func(pred func(string) bool) *oCol {
		for _, c := range tab {
			if pred(c.name) {
				return c
			}
		}
		return nil
	}
	// §5 EpochTime.
	ep := find(func(s string) bool { return s == "Energy__EpochTime" })
	if ep == nil {
		ep = find(func(s string) bool { return strings.HasSuffix(s, "__EpochTime") })
	}
	if ep != nil {
		o.epoch = ep.name
		c := &oCol{name: "EpochTime", v: make([]float64, n), ok: append([]bool(nil), ep.ok...), dtype: analysis.Int64}
		for i := range c.v {
			if !ep.ok[i] {
				continue
			}
			t := math.Trunc(ep.v[i])
			if math.IsNaN(t) || t >= 1<<63 || t < -(1<<63) {
				o.skip = analysis.SkipUnexpected // strict Int64 cast
				return
			}
			c.v[i] = t
		}
		tab = append(tab, c)
	}
	// §6 derivatives.
	var extra []*oCol
	for _, c := range tab {
		div := func(name string, by float64) {
			d := &oCol{name: name, v: make([]float64, n), ok: append([]bool(nil), c.ok...), dtype: analysis.Float64}
			for i := range d.v {
				d.v[i] = c.v[i] / by
			}
			extra = append(extra, d)
		}
		if strings.HasSuffix(c.name, "__RSS") {
			div(strings.ReplaceAll(c.name, "__RSS", "__RSS_MB"), 1024)
		}
		if strings.HasSuffix(c.name, "__CPUUtilization") {
			div(strings.ReplaceAll(c.name, "__CPUUtilization", "__CPUUtilization_normalized"), 32)
		}
	}
	tab = append(tab, extra...)
	// §7 energy.
	pw := find(func(s string) bool {
		return s == "NodePower" || s == "CurrPower" || strings.HasSuffix(s, "__NodePower") || strings.HasSuffix(s, "__CurrPower")
	})
	en := find(func(s string) bool { return s == "Energy" || strings.HasSuffix(s, "__Energy") })
	if pw != nil {
		o.power = pw.name
	}
	if en != nil {
		o.energy = en.name
	}
	if pw != nil || en != nil {
		keep := 0
		for keep < n && float64(rowT[keep]) < 1e7 {
			keep++
		}
		for _, c := range tab {
			c.ok = c.ok[:keep]
			if c.isU {
				c.u = c.u[:keep]
			} else {
				c.v = c.v[:keep]
			}
		}
		n = keep
		if n == 0 {
			o.skip = analysis.SkipNoData
			return
		}
		et := make([]float64, n)
		dt := make([]float64, n)
		for i := range et {
			et[i] = float64(rowT[i])
			if i > 0 {
				dt[i] = et[i] - et[i-1]
			}
		}
		newCol := func(name string) *oCol {
			return &oCol{name: name, v: make([]float64, n), ok: make([]bool, n), dtype: analysis.Float64}
		}
		var np, used *oCol
		if pw != nil {
			np = newCol("NodePower")
			copy(np.v, pw.v)
			copy(np.ok, pw.ok)
			d := newCol("ElapsedTime_Diff")
			inc := newCol("Energy_Increment_J")
			used = newCol("Energy_used_J")
			acc := 0.0
			for i := 0; i < n; i++ {
				d.v[i], d.ok[i] = dt[i], true
				if np.ok[i] {
					inc.v[i], inc.ok[i] = dt[i]*np.v[i], true
					acc += inc.v[i]
					used.v[i], used.ok[i] = acc, true
				}
			}
			tab = append(tab, np, d, inc, used)
		} else {
			used = newCol("Energy_used_J")
			copy(used.v, en.v)
			copy(used.ok, en.ok)
			inc := newCol("Energy_Increment_J")
			np = newCol("NodePower")
			for i := 0; i < n; i++ {
				inc.ok[i] = true
				if i > 0 && used.ok[i] && used.ok[i-1] {
					inc.v[i] = used.v[i] - used.v[i-1]
				}
				if i > 0 && dt[i] > 0 {
					np.v[i], np.ok[i] = inc.v[i]/dt[i], true
				}
			}
			tab = append(tab, used, inc, np)
		}
		// §7.5, with polars' max (NaN ignored).
		ets, peak, peakT := math.NaN(), math.NaN(), math.NaN()
		for i := 0; i < n; i++ {
			if used.ok[i] && !math.IsNaN(used.v[i]) && (math.IsNaN(ets) || used.v[i] > ets) {
				ets = used.v[i]
			}
			if np.ok[i] && !math.IsNaN(np.v[i]) && (math.IsNaN(peak) || np.v[i] > peak) {
				peak, peakT = np.v[i], et[i]
			}
		}
		o.metrics = finiteMetrics(analysis.NewMetrics(ets, et[n-1], peak, peakT))
		for _, c := range tab {
			if c.isU { // ElapsedTime is float64 now (exact below 1e7)
				c.v = make([]float64, n)
				for i := range c.v {
					c.v[i] = float64(c.u[i])
				}
				c.isU = false
			}
		}
	}
	// §8 casts, into typed rows.
	o.rows = make([][]any, n)
	for i := range o.rows {
		o.rows[i] = make([]any, len(tab))
	}
	for ci, c := range tab {
		rule, hasRule := ruleFor(c.name)
		dtype := analysis.Float64
		if hasRule {
			dtype = rule.typ
		}
		if c.name == "EpochTime" {
			dtype = analysis.Int64
		}
		o.columns = append(o.columns, analysis.Column{Name: c.name, Type: dtype})
		for i := 0; i < n; i++ {
			if !c.ok[i] {
				continue
			}
			if c.isU { // no energy path: UInt64 compared as an integer
				if c.u[i] <= 1<<63-1 {
					o.rows[i][ci] = c.u[i]
				}
				continue
			}
			v := c.v[i]
			if !hasRule {
				o.rows[i][ci] = v
				continue
			}
			if math.IsNaN(v) || math.IsInf(v, 0) || v < rule.lo || (rule.bounded && v > rule.hi) {
				continue
			}
			t := math.Trunc(v)
			switch dtype {
			case analysis.Float32:
				o.rows[i][ci] = float32(v)
			case analysis.UInt16:
				o.rows[i][ci] = uint16(t)
			case analysis.UInt32:
				o.rows[i][ci] = uint32(t)
			case analysis.UInt64:
				o.rows[i][ci] = uint64(t)
			case analysis.Int64:
				o.rows[i][ci] = int64(t)
			}
		}
	}
}

func trues(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// interpolate fills interior NULL runs by position (§4.5).
func interpolate(c *oCol) {
	prev := -1
	for i := range c.v {
		if !c.ok[i] {
			continue
		}
		if prev >= 0 && i-prev > 1 {
			low, high := c.v[prev], c.v[i]
			slope := (high - low) / float64(i-prev)
			for k := 1; k < i-prev; k++ {
				c.v[prev+k] = low + float64(k)*slope
				c.ok[prev+k] = true
			}
		}
		prev = i
	}
}

package compat

import (
	"context"
	"math"
	"strings"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
)

// How the table is built (§4-§9) from the frames, in Go, as it is read.
//
// The timeline is the merge of the frames' distinct times (each frame is
// sorted). At a time t, frame k has n<k> rows (0 when absent) from row
// a<k>; the joined rows at t are the product of max(1, n<k>) (§4.3) in
// nested-loop order, first frame outermost: the row at offset o picks
// frame k's row a<k> + (o / S<k>) mod n<k>, S<k> being the product of
// max(1, n<j>) over the later frames j. That is the row order of the
// original's LEFT JOIN chain, found by arithmetic instead of a join.
//
// Interpolation (§4.5) is by position: every joined row of a time carries,
// for frame k, one of k's rows at t or nothing, so all columns of a frame
// share their NULL runs, and those are runs of whole times. A run between
// the frame's times t1 < t2 has low = the frame's last row at t1 (at the
// last joined row of t1, position lp) and high = its first row at t2 (at
// the first joined row of t2, position hp); a row at position p gets
// low + (p - lp) * ((high - low) / (hp - lp)). No value is extrapolated.
// The plan stores, per frame absent at some time, the position of the
// first joined row at each of its times, so hp is known when a run starts.
//
// Nothing but the frames is stored: each scan computes the rows in order
// (constant memory per row), and the running energy sum is sequential, as
// the original's cumulative sum over the table.

// energyPath is the §7 path.
type energyPath int

const (
	noEnergy energyPath = iota
	powerPath
	counterPath
)

// maxElapsed is the §7.2 bound: with an energy path, rows at or after it
// are dropped (they are the last rows, so positions do not change).
const maxElapsed = 10_000_000

// plan is the timeline's shape, from the frames' times.
type plan struct {
	times  int64  // distinct times of all frames
	rows   int64  // joined rows (after the §7.2 filter on the energy path)
	absent []bool // frame k lacks some time of the timeline
	dups   bool   // some frame has several rows at one time
	maxT   uint64 // the last time
	visits int64  // frames the merge touched (tests: linear in the frames' times)
}

// cursor walks the timeline one time at a time. The frames' next times
// sit in a min-heap, so a time costs its present frames (times log of the
// frame count), not every frame: a file may hold many datasets.
type cursor struct {
	frames  []*frame
	idx     []int   // per frame: index of its next distinct time (of the current, once at it)
	at      []bool  // per frame: it has rows at the current time
	present []int   // the frames at the current time, in frame order
	stride  []int64 // S<k> of the present frames
	heap    []heapItem
	t, pt   uint64
	hasPT   bool  // there is a previous time
	pos     int64 // position of the first joined row at t
	m       int64 // joined rows at t
	limit   int64 // largest m allowed
	visits  int64 // frames taken off the heap: the merge's work (tests)
}

type heapItem struct {
	t uint64
	k int
}

func newCursor(frames []*frame, limit int64) *cursor {
	c := &cursor{frames: frames, idx: make([]int, len(frames)), at: make([]bool, len(frames)),
		stride: make([]int64, len(frames)), limit: limit}
	for k, f := range frames {
		if len(f.times) > 0 {
			c.push(heapItem{f.times[0], k})
		}
	}
	return c
}

func (c *cursor) less(a, b int) bool {
	x, y := c.heap[a], c.heap[b]
	return x.t < y.t || x.t == y.t && x.k < y.k
}

func (c *cursor) push(it heapItem) {
	c.heap = append(c.heap, it)
	for i := len(c.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if !c.less(i, p) {
			break
		}
		c.heap[i], c.heap[p] = c.heap[p], c.heap[i]
		i = p
	}
}

func (c *cursor) pop() heapItem {
	h := c.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	c.heap = h[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < last && c.less(l, small) {
			small = l
		}
		if l+1 < last && c.less(l+1, small) {
			small = l + 1
		}
		if small == i {
			break
		}
		c.heap[i], c.heap[small] = c.heap[small], c.heap[i]
		i = small
	}
	return top
}

// next moves to the next time; false at the end.
func (c *cursor) next() (bool, error) {
	if c.m > 0 { // leave the current time
		for _, k := range c.present {
			c.at[k] = false
			c.idx[k]++
			if f := c.frames[k]; c.idx[k] < len(f.times) {
				c.push(heapItem{f.times[c.idx[k]], k})
			}
		}
		c.pt, c.hasPT = c.t, true
		c.pos += c.m
	}
	if len(c.heap) == 0 {
		c.m, c.present = 0, c.present[:0]
		return false, nil
	}
	// The heap pops equal times in frame order.
	c.t = c.heap[0].t
	c.present = c.present[:0]
	for len(c.heap) > 0 && c.heap[0].t == c.t {
		k := c.pop().k
		c.visits++
		c.present = append(c.present, k)
		c.at[k] = true
	}
	m := int64(1)
	for p := len(c.present) - 1; p >= 0; p-- {
		k := c.present[p]
		f := c.frames[k]
		i := c.idx[k]
		c.stride[k] = m
		m *= int64(f.starts[i+1] - f.starts[i])
		if m > c.limit {
			return false, engine.Skipf(analysis.SkipTooLarge, "time %d alone would give more than %d joined rows", c.t, c.limit)
		}
	}
	c.m = m
	return true, nil
}

// pick is frame k's row at offset o of the current time (k present).
func (c *cursor) pick(k int, o int64) int {
	f := c.frames[k]
	i := c.idx[k]
	a, n := f.starts[i], f.starts[i+1]-f.starts[i]
	if n == 1 {
		return a
	}
	return a + int((o/c.stride[k])%int64(n))
}

// makePlan walks the timeline once: its length, the joined rows, which
// frames are absent at some time, and their times' first positions.
func (run *compatRun) makePlan(filter bool) (plan, error) {
	frames := run.frames
	limit := run.Opt.MaxRows
	p := plan{absent: make([]bool, len(frames))}
	first := make([][]int64, len(frames))
	for k, f := range frames {
		first[k] = make([]int64, 0, len(f.times))
	}
	c := newCursor(frames, limit)
	for {
		ok, err := c.next()
		if err != nil {
			return p, err
		}
		if !ok {
			break
		}
		p.times++
		p.maxT = c.t
		for _, k := range c.present {
			first[k] = append(first[k], c.pos)
		}
		if !filter || c.t < maxElapsed {
			p.rows += c.m
			if p.rows > limit {
				return p, engine.Skipf(analysis.SkipTooLarge, "the joined table would have more than %d rows", limit)
			}
		}
	}
	p.visits = c.visits
	for k, f := range frames {
		p.absent[k] = int64(len(f.times)) < p.times
		p.dups = p.dups || f.dups
		if p.absent[k] {
			f.first = first[k]
		}
	}
	return p, nil
}

// colKind is where an output column's working value comes from.
type colKind uint8

const (
	colElapsed colKind = iota // ElapsedTime
	colFrame                  // frame k's member j
	colEpoch                  // EpochTime: the strict Int64 cast of a frame column
	colDiv                    // a frame column divided by div (§6)
	colPower                  // NodePower
	colDiff                   // ElapsedTime_Diff
	colInc                    // Energy_Increment_J
	colUsed                   // Energy_used_J
)

// outCol is one column of the result: where its working value comes from
// and its §8 cast.
type outCol struct {
	name string
	kind colKind
	src  int // index of the frame column (colFrame, colEpoch, colDiv)
	div  float64
	typ  analysis.DType
	cast caster
}

// srcCol is one frame column of the joined table (§3.4, §4.3).
type srcCol struct {
	name string
	k, j int
}

// table is the built result: the frames, the plan and the columns.
type table struct {
	frames []*frame
	cols   []srcCol
	out    []outCol
	path   energyPath
	power  int // source column of the power (power path) or energy (counter path)
	limit  int64
	// floats: every value has an exact float64 and none is NaN, so the
	// rows may go unboxed with NaN as NULL (analysis.FloatRowSource).
	floats bool
}

// build makes the result table from the frames.
func (run *compatRun) build() error {
	frames := run.frames
	det := &run.Res.Details
	t := &table{frames: frames, limit: run.Opt.MaxRows}
	for k, f := range frames {
		for j, m := range f.members {
			t.cols = append(t.cols, srcCol{f.prefix + "__" + m, k, j})
		}
	}
	find := func(pred func(string) bool) (int, bool) {
		for i, c := range t.cols {
			if pred(c.name) {
				return i, true
			}
		}
		return -1, false
	}
	// §5 EpochTime.
	epoch, hasEpoch := find(func(n string) bool { return n == "Energy__EpochTime" })
	if !hasEpoch {
		epoch, hasEpoch = find(func(n string) bool { return strings.HasSuffix(n, "__EpochTime") })
	}
	if _, clash := find(func(n string) bool { return n == "EpochTime" }); clash {
		hasEpoch = false
	}
	// §7.1 power and energy columns.
	power, hasPower := find(func(n string) bool {
		return n == "NodePower" || n == "CurrPower" || strings.HasSuffix(n, "__NodePower") || strings.HasSuffix(n, "__CurrPower")
	})
	energy, hasEnergy := find(func(n string) bool { return n == "Energy" || strings.HasSuffix(n, "__Energy") })
	if hasEpoch {
		det.EpochColumn = t.cols[epoch].name
	}
	if hasPower {
		det.PowerColumn = t.cols[power].name
	}
	if hasEnergy {
		det.EnergyColumn = t.cols[energy].name
	}
	switch {
	case hasPower:
		t.path, t.power = powerPath, power
	case hasEnergy:
		t.path, t.power = counterPath, energy
	}

	p, err := run.makePlan(t.path != noEnergy)
	if err != nil {
		return err
	}
	if p.rows == 0 {
		return engine.Skipf(analysis.SkipNoData, "the table has no rows")
	}
	run.plan = p

	// Output columns (§9).
	add := func(name string, kind colKind, src int, div float64) {
		t.out = append(t.out, outCol{name: name, kind: kind, src: src, div: div})
	}
	add("ElapsedTime", colElapsed, -1, 0)
	for i, c := range t.cols {
		add(c.name, colFrame, i, 0)
	}
	if hasEpoch {
		add("EpochTime", colEpoch, epoch, 0)
	}
	for i, c := range t.cols { // §6
		if strings.HasSuffix(c.name, "__RSS") {
			add(strings.ReplaceAll(c.name, "__RSS", "__RSS_MB"), colDiv, i, 1024)
		}
		if strings.HasSuffix(c.name, "__CPUUtilization") {
			add(strings.ReplaceAll(c.name, "__CPUUtilization", "__CPUUtilization_normalized"), colDiv, i, 32)
		}
	}
	switch t.path {
	case powerPath:
		add("NodePower", colPower, -1, 0)
		add("ElapsedTime_Diff", colDiff, -1, 0)
		add("Energy_Increment_J", colInc, -1, 0)
		add("Energy_used_J", colUsed, -1, 0)
	case counterPath:
		add("Energy_used_J", colUsed, -1, 0)
		add("Energy_Increment_J", colInc, -1, 0)
		add("NodePower", colPower, -1, 0)
	}
	if len(t.out) > analysis.MaxColumns {
		return engine.Skipf(analysis.SkipTooLarge, "the table would have %d columns; PostgreSQL allows at most %d", len(t.out), analysis.MaxColumns)
	}
	seen := make(map[string]string, len(t.out))
	t.floats = p.maxT <= 1<<53 // ElapsedTime exact as float64
	for i := range t.out {
		c := &t.out[i]
		key := strings.ToLower(c.name) // names stay distinct in case-insensitive readers (DuckDB, exports)
		if prev, dup := seen[key]; dup {
			return engine.Skipf(analysis.SkipUnexpected, "duplicate column name %q (and %q)", c.name, prev)
		}
		seen[key] = c.name
		switch c.kind {
		case colElapsed:
			c.typ = analysis.UInt64 // compared as an integer: see values
		case colEpoch:
			c.typ = analysis.Int64
		default:
			rule, ok := ruleFor(c.name)
			c.typ = analysis.Float64
			if ok {
				c.typ = rule.typ
			}
			c.cast = newCaster(rule, ok)
			if !ok && c.kind == colFrame && !finite(frames[t.cols[c.src].k].vals[t.cols[c.src].j]) {
				// A NaN kept as a value must not read as NULL.
				t.floats = false
			}
		}
	}

	if hasEpoch {
		if err := t.checkEpoch(run.Ctx, epoch); err != nil {
			return err
		}
	}
	if t.path != noEnergy {
		m, err := t.metrics(run.Ctx)
		if err != nil {
			return err
		}
		run.Res.Metrics = m
	}
	out := &engine.Table{Rows: p.rows, Scan: t.scan}
	if t.floats {
		out.ScanFloats = t.scanFloats
	}
	for _, c := range t.out {
		out.Columns = append(out.Columns, analysis.Column{Name: c.name, Type: c.typ})
	}
	run.Res.Rows, run.Res.Columns = p.rows, out.Columns
	run.out = out
	return nil
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// row is one joined row as the walk produces it: its time and position,
// and the working values of the frame columns it was asked for.
type row struct {
	t, pt  uint64
	hasPT  bool
	first  bool // first joined row of its time
	pos    int64
	w      []float64 // per source column
	ok     []bool    // false: NULL
	energy energyState
}

// gap is a frame's current NULL run: the positions around it and, per
// member, low and slope.
type gap struct {
	idx        int // the frame's next time when the run started; -1 none
	lp         int64
	low, slope []float64
}

// walk produces the joined rows in order, with the values of the frames
// in need (all when nil); filter stops at the §7.2 bound.
func (t *table) walk(ctx context.Context, filter bool, need []bool, fn func(r *row) error) error {
	frames := t.frames
	c := newCursor(frames, t.limit)
	r := &row{w: make([]float64, len(t.cols)), ok: make([]bool, len(t.cols))}
	base := make([]int, len(frames)) // first source column of frame k
	gaps := make([]gap, len(frames))
	lastPos := make([]int64, len(frames)) // last joined row where frame k had a row
	var valued []int                      // the frames whose values are asked for
	for k, f := range frames {
		if k > 0 {
			base[k] = base[k-1] + len(frames[k-1].members)
		}
		if len(f.members) > 0 && (need == nil || need[k]) {
			valued = append(valued, k)
			gaps[k] = gap{idx: -1, low: make([]float64, len(f.members)), slope: make([]float64, len(f.members))}
		}
	}
	var n int64
	for {
		ok, err := c.next()
		if err != nil {
			return err
		}
		if !ok || filter && c.t >= maxElapsed {
			return nil
		}
		r.t, r.pt, r.hasPT = c.t, c.pt, c.hasPT
		for o := int64(0); o < c.m; o++ {
			r.pos, r.first = c.pos+o, o == 0
			for _, k := range valued {
				f, b := frames[k], base[k]
				if c.at[k] {
					i := c.pick(k, o)
					for j, v := range f.vals {
						r.w[b+j], r.ok[b+j] = v[i], true
					}
					continue
				}
				i := c.idx[k] // the frame's next time
				if i == 0 || i >= len(f.times) {
					for j := range f.vals {
						r.ok[b+j] = false
					}
					continue
				}
				g := &gaps[k]
				if g.idx != i {
					g.idx, g.lp = i, lastPos[k]
					lo, hi := f.starts[i]-1, f.starts[i]
					d := float64(f.first[i] - g.lp)
					for j, v := range f.vals {
						g.low[j], g.slope[j] = v[lo], (v[hi]-v[lo])/d
					}
				}
				kk := float64(r.pos - g.lp)
				for j := range f.vals {
					r.w[b+j], r.ok[b+j] = g.low[j]+kk*g.slope[j], true
				}
			}
			if err := fn(r); err != nil {
				return err
			}
			if n++; n&4095 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		for _, k := range c.present {
			lastPos[k] = c.pos + c.m - 1
		}
	}
}

// energyState computes the §7 columns row by row: NodePower (np),
// ElapsedTime_Diff, Energy_Increment_J and Energy_used_J, from the power
// (sequential running sum) or the energy counter (differences).
type energyState struct {
	np, diff, inc, used float64
	npOK, incOK, usedOK bool
	acc, prev           float64 // running sum; the previous row's counter
	prevOK              bool    // false before the first row too
}

func (e *energyState) step(path energyPath, r *row, src int) {
	diff := 0.0
	if r.first && r.hasPT {
		diff = float64(r.t) - float64(r.pt)
	}
	e.diff = diff
	v, ok := r.w[src], r.ok[src]
	switch path {
	case powerPath:
		e.np, e.npOK = v, ok
		e.inc, e.incOK = diff*v, ok
		if ok {
			e.acc += e.inc
		}
		e.used, e.usedOK = e.acc, ok
	case counterPath:
		e.used, e.usedOK = v, ok
		e.inc, e.incOK = 0, true
		if ok && e.prevOK {
			e.inc = v - e.prev
		}
		e.np, e.npOK = 0, false
		if r.first && r.hasPT {
			e.np, e.npOK = e.inc/diff, true
		}
		e.prev, e.prevOK = v, ok
	}
}

// metrics computes §7.5 from the working values, with polars' max (NaN
// ignored; the peak's time is that of its first row).
func (t *table) metrics(ctx context.Context) (*analysis.Metrics, error) {
	need := make([]bool, len(t.frames))
	need[t.cols[t.power].k] = true
	ets, peak, peakT, tts := math.NaN(), math.NaN(), math.NaN(), math.NaN()
	err := t.walk(ctx, true, need, func(r *row) error {
		e := &r.energy
		e.step(t.path, r, t.power)
		tts = float64(r.t)
		if e.usedOK && !math.IsNaN(e.used) && (math.IsNaN(ets) || e.used > ets) {
			ets = e.used
		}
		if e.npOK && !math.IsNaN(e.np) && (math.IsNaN(peak) || e.np > peak) {
			peak, peakT = e.np, float64(r.t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return finiteMetrics(analysis.NewMetrics(ets, tts, peak, peakT)), nil
}

// finiteMetrics reports infinite figures as null, like NaN: JSON (and the
// catalog's jsonb) has no infinities. An infinite energy has no appliance
// comparison either (its amount would be infinite).
func finiteMetrics(m analysis.Metrics) *analysis.Metrics {
	if m.EnergyToSolutionJ != nil && math.IsInf(*m.EnergyToSolutionJ, 0) {
		a := analysis.CompareAppliance(math.NaN())
		m.ApplianceName, m.ApplianceAmount, m.ApplianceUnit, m.ApplianceDescription = a.Name, a.Amount, a.Unit, a.Description
	}
	for _, f := range []**float64{&m.EnergyToSolutionJ, &m.TimeToSolutionS, &m.AveragePowerW, &m.PeakPowerW, &m.PeakPowerTimeS, &m.EnergyDelayProduct} {
		if *f != nil && math.IsInf(**f, 0) {
			*f = nil
		}
	}
	return &m
}

// checkEpoch runs the original's strict Int64 cast of EpochTime (§5, §10)
// over every joined row, before the §7.2 filter: a NaN, an infinity or a
// value beyond Int64 fails the file, as the original's cast raised. When
// the source column is finite and well inside Int64, so are its
// interpolations, and the walk is skipped.
func (t *table) checkEpoch(ctx context.Context, src int) error {
	c := t.cols[src]
	vals := t.frames[c.k].vals[c.j]
	fine := true
	for _, v := range vals {
		if !(math.Abs(v) < 4e18) { // false for NaN too
			fine = false
			break
		}
	}
	if fine {
		return nil
	}
	need := make([]bool, len(t.frames))
	need[c.k] = true
	return t.walk(ctx, false, need, func(r *row) error {
		if _, ok := epochValue(r.w[src], r.ok[src]); !ok && r.ok[src] {
			return engine.Skipf(analysis.SkipUnexpected, "%s %v (row %d) does not convert to Int64", c.name, r.w[src], r.pos)
		}
		return nil
	})
}

// epochValue is the strict Int64 cast of a working EpochTime: ok false
// for NULL and for what does not convert.
func epochValue(v float64, ok bool) (int64, bool) {
	x := math.Trunc(v)
	if !ok || !(x >= -(1<<63) && x < 1<<63) {
		return 0, false
	}
	return int64(x), true
}

// values computes the row's output values after the §8 casts: val[i] is
// the value as float64 (exact for every type but ElapsedTime beyond
// 2^53, which r.t holds), ok[i] false for NULL.
func (t *table) values(r *row, val []float64, ok []bool) {
	e := &r.energy
	if t.path != noEnergy {
		e.step(t.path, r, t.power)
	}
	for i := range t.out {
		c := &t.out[i]
		var v float64
		var vok bool
		switch c.kind {
		case colElapsed:
			// Without an energy path ElapsedTime is still UInt64 and is
			// compared as an integer; with one it is below 1e7.
			val[i], ok[i] = float64(r.t), r.t <= math.MaxInt64
			continue
		case colEpoch:
			n, nok := epochValue(r.w[c.src], r.ok[c.src])
			val[i], ok[i] = float64(n), nok && n >= 0 && n <= 4_102_444_800
			continue
		case colFrame:
			v, vok = r.w[c.src], r.ok[c.src]
		case colDiv:
			v, vok = r.w[c.src]/c.div, r.ok[c.src]
		case colPower:
			v, vok = e.np, e.npOK
		case colDiff:
			v, vok = e.diff, true
		case colInc:
			v, vok = e.inc, e.incOK
		case colUsed:
			v, vok = e.used, e.usedOK
		}
		val[i], ok[i] = c.cast.apply(v, vok)
	}
}

// scanFloats streams the rows unboxed, NaN as NULL (only when t.floats).
func (t *table) scanFloats(ctx context.Context, fn func(texts []string, values []float64) error) error {
	val := make([]float64, len(t.out))
	ok := make([]bool, len(t.out))
	return t.walk(ctx, t.path != noEnergy, nil, func(r *row) error {
		t.values(r, val, ok)
		for i, o := range ok {
			if !o {
				val[i] = math.NaN()
			}
		}
		return fn(nil, val)
	})
}

// scan streams the rows typed as engine.Engine.ScanRows gives them.
func (t *table) scan(ctx context.Context, fn func(row []any) error) error {
	val := make([]float64, len(t.out))
	ok := make([]bool, len(t.out))
	out := make([]any, len(t.out))
	return t.walk(ctx, t.path != noEnergy, nil, func(r *row) error {
		t.values(r, val, ok)
		for i, c := range t.out {
			if !ok[i] {
				out[i] = nil
				continue
			}
			if c.kind == colElapsed {
				out[i] = r.t
				continue
			}
			out[i] = typed(val[i], c.typ)
		}
		return fn(out)
	})
}

// typed boxes a value of a column as ScanRows gives it.
func typed(v float64, typ analysis.DType) any {
	switch typ {
	case analysis.UInt16:
		return uint16(v)
	case analysis.UInt32:
		return uint32(v)
	case analysis.UInt64:
		return uint64(v)
	case analysis.Int64:
		return int64(v)
	case analysis.Float32:
		return float32(v)
	}
	return v
}

package corrected

// The corrected table, produced in Go as it is read.
//
// The table has one row per sample: the merged energy samples of each
// (step, node) series, or for a node without energy data the union of its
// other series' times. elapsed_s is seconds since the job's first sample,
// epoch_s the same on the epoch; power_w the power the energy comes from,
// gpu_power_w the summed GPU power, energy_j the energy since the series'
// first sample (computed in Go, see energy.go); then the node's task,
// filesystem and network values at that time.
//
// The rows are not stored anywhere: the series keep their samples, and
// each scan (Engine.ScanRows: the PostgreSQL COPY, the CSV and DuckDB-file
// writers) walks them and puts the aux values on the row times
// (auxCursor), linearly in time and never beyond a series' first and last
// sample: at each row, every task, filesystem and network series of the
// node whose range contains the row's time is interpolated there between
// its two neighbouring samples (a pointer per series that only moves
// forward), and the node's aggregate is the mean over those series (CPU
// utilisation) or their sum. Filesystem and network totals then become the
// amount since the previous row. So the analysis holds the samples (less
// than the table) and a writer's batch, and the table goes from Go to its
// writer once.
//
// This was SQL before: a range join of the node's breakpoints with its
// series and two ASOF joins on (node, series). DuckDB planned those as
// nested loops on irregular (jittered, duplicated) times, so the time grew
// with the square of the rows. The pass here touches each row once per
// series of its node and each aux sample once (Engine.lastWork counts it
// for the tests).

import (
	"context"
	"math"
	"sort"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
)

// auxCol is one aux column of the table.
type auxCol struct {
	idx   int    // auxCPU ...
	name  string // table column
	agg   string // avg over the node's series, or sum
	delta bool   // a running total shown as the amount since the previous row
}

var auxColumns = []auxCol{
	{auxCPU, "cpu_util_norm_pct", "avg", false},
	{auxRSS, "rss_mib", "sum", false},
	{auxRead, "read_mb", "sum", false},
	{auxWrite, "write_mb", "sum", false},
	{auxFSRead, "fs_read_mb", "sum", true},
	{auxFSWrite, "fs_write_mb", "sum", true},
	{auxNetIn, "net_in_mb", "sum", true},
	{auxNetOut, "net_out_mb", "sum", true},
}

// layout checks the table's size and lays out its columns, to be scanned
// from the series.
func (run *fileRun) layout() (*rowSource, error) {
	var rows int64
	present := make([]bool, auxCols)
	hasGPU := false
	for _, s := range run.series {
		rows += int64(len(s.rows))
		hasGPU = hasGPU || s.gpu != nil
		for _, a := range s.aux {
			for j, v := range a.v {
				present[j] = present[j] || v != nil
			}
		}
	}
	if rows > run.Opt.MaxRows {
		return nil, engine.Skipf(analysis.SkipTooLarge, "the table would have %d rows (limit %d)", rows, run.Opt.MaxRows)
	}
	t := &rowSource{run: run, rows: rows, hasGPU: hasGPU}
	t.out = []analysis.Column{{Name: "step", Type: analysis.Text}, {Name: "node", Type: analysis.Text}}
	for _, name := range []string{"elapsed_s", "epoch_s", "power_w", "gpu_power_w", "energy_j"} {
		t.out = append(t.out, analysis.Column{Name: name, Type: analysis.Float64})
	}
	for _, c := range auxColumns {
		// The task columns are always there (NULL without tasks), the
		// filesystem and network ones when present.
		if present[c.idx] || c.idx <= auxWrite {
			t.out = append(t.out, analysis.Column{Name: c.name, Type: analysis.Float64})
			t.cols = append(t.cols, c)
			t.absent = append(t.absent, !present[c.idx])
		}
	}
	return t, nil
}

// table is the run's result: a table scanned from the series.
func (t *rowSource) table() *engine.Table {
	return &engine.Table{Columns: t.out, Rows: t.rows, Scan: t.scan, ScanFloats: t.scanFloats, Ranges: t.ranges, Complete: t.complete}
}

// rowSource walks the series' samples as the table's rows.
type rowSource struct {
	run    *fileRun
	rows   int64
	out    []analysis.Column // the table's columns
	hasGPU bool
	cols   []auxCol // the aux columns of the table, in order
	absent []bool   // per aux column: no series has it (always NULL)
	// nulls is the quality report's table_nulls, filled when a scan
	// first completes (no pass of its own before the COPY: the COPY's
	// scan counts them), or by complete.
	nulls   map[string]int64
	counted bool
}

// each calls fn with every row's values after step and node, in the
// table's order: elapsed_s, epoch_s, power_w, gpu_power_w, energy_j, then
// the aux columns; NaN is NULL. fn must not keep v.
func (t *rowSource) each(ctx context.Context, w *work, fn func(s *series, v []float64) error) error {
	run := t.run
	nan := math.NaN()
	epoch := run.startEpoch()
	v := make([]float64, 5+len(t.cols))
	aux := make([]float64, len(t.cols))
	for _, s := range run.series {
		if err := ctx.Err(); err != nil {
			return err
		}
		cur := run.auxAt(s, t.cols, w)
		for i, x := range s.rows {
			el := run.rel(s, x)
			v[0], v[1], v[2], v[3], v[4] = el, epoch+el, nan, nan, nan
			if s.hasEnergy {
				v[2], v[4] = s.pw[i], s.cum[i]
				if s.gpu != nil {
					v[3] = s.gpu[i]
				}
			}
			cur.at(el, aux)
			for j := range aux {
				if t.absent[j] {
					v[5+j] = nan
				} else {
					v[5+j] = aux[j]
				}
			}
			if err := fn(s, v); err != nil {
				return err
			}
			if i&0xffff == 0xffff {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ranges is the table's engine.Table.Ranges: the series in the order each
// writes them, their first and last epoch_s computed as each does.
func (t *rowSource) ranges() []analysis.SeriesRange {
	run := t.run
	epoch := run.startEpoch()
	out := make([]analysis.SeriesRange, 0, len(run.series))
	for _, s := range run.series {
		if len(s.rows) == 0 {
			continue // no rows: not a series of the table
		}
		out = append(out, analysis.SeriesRange{Step: s.step, Node: s.node, Rows: int64(len(s.rows)),
			From: epoch + run.rel(s, s.rows[0]), To: epoch + run.rel(s, s.rows[len(s.rows)-1])})
	}
	return out
}

// scanFloats is the table's engine.Table.ScanFloats: step and node, then
// the values (NaN for NULL). It counts each column's NULLs on the way,
// for the quality report.
func (t *rowSource) scanFloats(ctx context.Context, fn func(texts []string, v []float64) error) error {
	texts := make([]string, 2)
	counts := make([]int64, len(t.out)-2)
	var w work
	err := t.each(ctx, &w, func(s *series, v []float64) error {
		texts[0], texts[1] = s.step, s.node
		for j, x := range v {
			if math.IsNaN(x) {
				counts[j]++
			}
		}
		return fn(texts, v)
	})
	if err == nil && !t.counted {
		for i, c := range t.out[2:] {
			t.nulls[c.Name] = counts[i]
		}
		t.counted = true
		t.run.p.lastWork = w
	}
	return err
}

// complete is the table's engine.Table.Complete: the NULL counts, by a
// scan of their own when none has completed yet.
func (t *rowSource) complete(ctx context.Context) error {
	if t.counted {
		return nil
	}
	return t.scanFloats(ctx, func([]string, []float64) error { return nil })
}

// scan is the table's engine.Table.Scan: the rows boxed as ScanRows
// gives them (text, float64 or nil).
func (t *rowSource) scan(ctx context.Context, fn func(row []any) error) error {
	row := make([]any, 7+len(t.cols))
	return t.scanFloats(ctx, func(texts []string, v []float64) error {
		row[0], row[1] = texts[0], texts[1]
		for j, x := range v {
			if math.IsNaN(x) {
				row[2+j] = nil
			} else {
				row[2+j] = x
			}
		}
		return fn(row)
	})
}

// work counts what the aux pass touched, for the linearity test.
type work struct {
	Rows    int64 // table rows
	Samples int64 // aux samples passed by the series' pointers
	Evals   int64 // (row, aux series) pairs looked at
}

// auxCursor puts a node's aux columns on its row times, one row at a time
// in increasing time (see the top of the file), so that no column of the
// whole series is held beside the appender's chunks.
type auxCursor struct {
	s    *series
	cols []auxCol
	ts   [][]float64 // each aux series' times on the job's timeline
	ptr  []int       // per aux series: its first sample at or after the last row
	has  []bool      // per column: some aux series of the node has it
	prev []float64   // per delta column: the previous row's running total
	sums []float64
	cnt  []int
	work *work
	// A row looks only at the series whose range may contain it: starts
	// lists the series by first sample, next is the first not yet begun,
	// and active the begun ones not yet ended, in series order (the order
	// their values are summed in). A node with many short series costs
	// its rows and samples, not rows × series.
	starts []int
	next   int
	active []int
}

func (run *fileRun) auxAt(s *series, cols []auxCol, work *work) *auxCursor {
	a := &auxCursor{s: s, cols: cols, ts: make([][]float64, len(s.aux)), ptr: make([]int, len(s.aux)),
		has: make([]bool, len(cols)), prev: make([]float64, len(cols)), sums: make([]float64, len(cols)),
		cnt: make([]int, len(cols)), work: work}
	for k, x := range s.aux {
		a.ts[k] = make([]float64, len(x.t))
		for i, t := range x.t {
			a.ts[k][i] = run.rel(s, t)
		}
		if len(x.t) > 0 {
			a.starts = append(a.starts, k)
		}
	}
	sort.SliceStable(a.starts, func(i, j int) bool { return a.ts[a.starts[i]][0] < a.ts[a.starts[j]][0] })
	for j, c := range cols {
		a.prev[j] = math.NaN() // the first row has no amount since a previous one
		for _, x := range s.aux {
			a.has[j] = a.has[j] || x.v[c.idx] != nil
		}
	}
	return a
}

// at writes the node's aux values at time x (seconds since the job's first
// sample, not before the previous call's) to out, NaN for none.
func (a *auxCursor) at(x float64, out []float64) {
	a.work.Rows++
	clear(a.sums)
	clear(a.cnt)
	for a.next < len(a.starts) && a.ts[a.starts[a.next]][0] <= x {
		// Begun: into active, kept in series order.
		k := a.starts[a.next]
		a.next++
		i := len(a.active)
		a.active = append(a.active, k)
		for ; i > 0 && a.active[i-1] > k; i-- {
			a.active[i] = a.active[i-1]
		}
		a.active[i] = k
	}
	kept := a.active[:0]
	for _, k := range a.active {
		aux := a.s.aux[k]
		t := a.ts[k]
		p := a.ptr[k]
		for p < len(t) && t[p] < x {
			p++
		}
		a.work.Samples += int64(p - a.ptr[k])
		a.ptr[k] = p
		a.work.Evals++
		if p == len(t) {
			continue // ended before x: never again, rows only go forward
		}
		kept = append(kept, k) // begun, so t[0] <= x: x is within its range
		for j, c := range a.cols {
			v := aux.v[c.idx]
			if v == nil {
				continue
			}
			var y float64
			if t[p] == x {
				y = v[p]
			} else {
				lt, ht, l, h := t[p-1], t[p], v[p-1], v[p]
				y = l + (h-l)*((x-lt)/(ht-lt))
			}
			if !math.IsNaN(y) {
				a.sums[j] += y
				a.cnt[j]++
			}
		}
	}
	a.active = kept
	for j, c := range a.cols {
		v := math.NaN()
		switch {
		case !a.has[j] || a.cnt[j] == 0:
		case c.agg == "avg":
			v = a.sums[j] / float64(a.cnt[j])
		default:
			v = a.sums[j]
		}
		if c.delta && a.has[j] {
			// A running total shown as the amount since the previous row.
			v, a.prev[j] = v-a.prev[j], v
		}
		out[j] = v
	}
}

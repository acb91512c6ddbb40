package corrected

// The corrected table, built in Go and appended to DuckDB.
//
// Go appends one table through the Appender:
//
//	corr_e (pos, sid, el, p, cum[, g], v<j>...): one row per table row, in
//	  the table's order (pos): the merged energy samples of each (step,
//	  node) series (sid), or for a node without energy data the union of its
//	  other series' times. el is seconds since the job's first sample; p the
//	  power the energy comes from, g the summed GPU power, cum the energy
//	  since the series' first sample (computed in Go, see
//	  energy.go), v<j> the node's task, filesystem and network
//	  values at that time.
//
// The aux values are put on the row times in Go (auxCursor), linearly in
// time and never beyond a series' first and last sample: at each row, every
// task, filesystem and network series of the node whose range contains the
// row's time is interpolated there between its two neighbouring samples (a
// pointer per series that only moves forward), and the node's aggregate is
// the mean over those series (CPU utilisation) or their sum. Filesystem and
// network totals then become the amount since the previous row.
//
// This was SQL before: a range join of the node's breakpoints with its
// series and two ASOF joins on (node, series). DuckDB planned those as
// nested loops on irregular (jittered, duplicated) times, so the time grew
// with the square of the rows. The pass here touches each row once per
// series of its node and each aux sample once (Engine.lastWork counts it
// for the tests). The result view adds the step and node names and the
// epoch time; ScanRows reads it.

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/duckdb"
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

// build appends the series to DuckDB and makes the result view.
func (run *fileRun) build() error {
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
		return duckdb.Skipf(analysis.SkipTooLarge, "the table would have %d rows (limit %d)", rows, run.Opt.MaxRows)
	}
	// Columns of corr_a: the task columns when there are tasks, the
	// filesystem and network ones when present.
	var cols []auxCol
	for _, c := range auxColumns {
		if present[c.idx] {
			cols = append(cols, c)
		}
	}
	if err := run.appendRows(hasGPU, cols); err != nil {
		return err
	}
	src := "corr_e"

	// The result view.
	var steps, nodes []string
	for _, s := range run.series {
		steps = append(steps, sqlString(s.step))
		nodes = append(nodes, sqlString(s.node))
	}
	out := []analysis.Column{{Name: "step", Type: analysis.Text}, {Name: "node", Type: analysis.Text}}
	sel := []string{
		"([" + strings.Join(steps, ", ") + "])[sid + 1] AS step",
		"([" + strings.Join(nodes, ", ") + "])[sid + 1] AS node",
	}
	add := func(name, expr string) {
		out = append(out, analysis.Column{Name: name, Type: analysis.Float64})
		sel = append(sel, expr+" AS "+duckdb.Quote(name))
	}
	add("elapsed_s", "el")
	add("epoch_s", duckdb.SQLFloat(run.startEpoch())+" + el")
	add("power_w", "p")
	if hasGPU {
		add("gpu_power_w", "g")
	} else {
		add("gpu_power_w", "CAST(NULL AS DOUBLE)")
	}
	add("energy_j", "cum")
	for _, c := range auxColumns {
		switch {
		case present[c.idx]:
			add(c.name, fmt.Sprintf("v%d", c.idx))
		case c.idx <= auxWrite:
			// The task columns are always there (NULL without tasks).
			add(c.name, "CAST(NULL AS DOUBLE)")
		}
	}
	sel = append(sel, "pos AS "+duckdb.HiddenPos)
	if err := run.Exec("CREATE VIEW " + duckdb.ResultTable + " AS SELECT " + strings.Join(sel, ", ") + " FROM " + src); err != nil {
		return err
	}

	// NULL counts of the table (no silent nulls).
	var counts []string
	for _, c := range out[2:] {
		counts = append(counts, "count(*) - count("+duckdb.Quote(c.Name)+")")
	}
	v, err := run.DB.Row(run.Ctx, "SELECT "+strings.Join(counts, ", ")+" FROM "+duckdb.ResultTable)
	if err != nil {
		return fmt.Errorf("table nulls: %w", err)
	}
	nulls := make(map[string]int64)
	for i, c := range out[2:] {
		if n, ok := v[i].(int64); ok {
			nulls[c.Name] = n
		}
	}
	run.quality.TableNulls = nulls
	run.sum.Quality.TableNulls = nulls

	run.out = &duckdb.Table{Name: duckdb.ResultTable, Columns: out, Rows: rows}
	run.Res.Rows, run.Res.Columns = rows, out
	run.Res.Metrics = run.sum.Metrics()
	return nil
}

// sqlString is a SQL string literal of s (valid UTF-8, no NUL).
func sqlString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "")
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// rowWriter fills an Appender's data chunks row by row: int64 columns
// first, then float64 columns, where NaN is written as NULL.
type rowWriter struct {
	a    *duckdb.Appender
	ints [][]int64
	flts [][]float64
	// Validity masks of the float columns in the current chunk, fetched
	// at a column's first NULL: the bits are then cleared here, without a
	// cgo call per NULL.
	masks []unsafe.Pointer
	n     int
}

func (run *fileRun) newWriter(table, defs string, nInt, nFlt int) (*rowWriter, error) {
	run.AddScratch(table)
	if err := run.Exec("CREATE OR REPLACE TABLE " + table + " (" + defs + ")"); err != nil {
		return nil, err
	}
	types := make([]mapping.Type, 0, nInt+nFlt)
	for i := 0; i < nInt; i++ {
		types = append(types, mapping.TypeBigInt)
	}
	for i := 0; i < nFlt; i++ {
		types = append(types, mapping.TypeDouble)
	}
	a, err := run.DB.NewAppender(table, types)
	if err != nil {
		return nil, fmt.Errorf("append %s: %w", table, err)
	}
	w := &rowWriter{a: a, ints: make([][]int64, nInt), flts: make([][]float64, nFlt), masks: make([]unsafe.Pointer, nFlt)}
	w.begin()
	return w, nil
}

func (w *rowWriter) begin() {
	for c := range w.ints {
		w.ints[c] = w.a.Int64s(c)
	}
	for c := range w.flts {
		w.flts[c] = w.a.Float64s(len(w.ints) + c)
		w.masks[c] = nil
	}
	w.n = 0
}

// setNull marks row i of float column c NULL in the current chunk.
func (w *rowWriter) setNull(c, i int) {
	m := w.masks[c]
	if m == nil {
		v := w.a.Vector(len(w.ints) + c)
		mapping.VectorEnsureValidityWritable(v)
		m = mapping.VectorGetValidity(v)
		w.masks[c] = m
	}
	word := (*uint64)(unsafe.Add(m, (i>>6)*8))
	*word &^= 1 << (uint(i) & 63)
}

func (w *rowWriter) row(ints []int64, flts []float64) error {
	for c, v := range ints {
		w.ints[c][w.n] = v
	}
	for c, v := range flts {
		if math.IsNaN(v) {
			w.flts[c][w.n] = 0
			w.setNull(c, w.n)
		} else {
			w.flts[c][w.n] = v
		}
	}
	w.n++
	if w.n == duckdb.VectorSize {
		if err := w.a.Flush(w.n); err != nil {
			return err
		}
		w.begin()
	}
	return nil
}

func (w *rowWriter) close() error {
	if err := w.a.Flush(w.n); err != nil {
		w.a.Close()
		return err
	}
	return w.a.Close()
}

// appendRows writes corr_e: its column g only when some series has GPU
// fields, a column v<j> per aux column in cols.
func (run *fileRun) appendRows(hasGPU bool, cols []auxCol) error {
	defs, nf := "pos BIGINT, sid BIGINT, el DOUBLE, p DOUBLE, cum DOUBLE, g DOUBLE", 4
	if !hasGPU {
		defs, nf = "pos BIGINT, sid BIGINT, el DOUBLE, p DOUBLE, cum DOUBLE", 3
	}
	for _, c := range cols {
		defs += fmt.Sprintf(", v%d DOUBLE", c.idx)
	}
	w, err := run.newWriter("corr_e", defs, 2, nf+len(cols))
	if err != nil {
		return err
	}
	nan := math.NaN()
	ints := make([]int64, 2)
	flts := make([]float64, nf+len(cols))
	var pos int64
	var work work
	for _, s := range run.series {
		if err := run.Ctx.Err(); err != nil {
			w.a.Close()
			return err
		}
		ints[1] = int64(s.sid)
		aux := run.auxAt(s, cols, &work)
		for i, t := range s.rows {
			ints[0] = pos
			flts[0] = run.rel(s, t)
			for j := 1; j < nf; j++ {
				flts[j] = nan
			}
			if s.hasEnergy {
				flts[1], flts[2] = s.pw[i], s.cum[i]
				if s.gpu != nil {
					flts[3] = s.gpu[i]
				}
			}
			aux.at(flts[0], flts[nf:])
			if err := w.row(ints, flts); err != nil {
				w.a.Close()
				return fmt.Errorf("append corr_e: %w", err)
			}
			pos++
		}
		// The summary is done: the series' samples are no longer needed.
		s.el, s.rows, s.pw, s.cum, s.gpu, s.priceT, s.priceP, s.aux = nil, nil, nil, nil, nil, nil, nil, nil
	}
	run.p.lastWork = work
	return w.close()
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
	}
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
	for k, aux := range a.s.aux {
		t := a.ts[k]
		p := a.ptr[k]
		for p < len(t) && t[p] < x {
			p++
		}
		a.work.Samples += int64(p - a.ptr[k])
		a.ptr[k] = p
		a.work.Evals++
		if p == len(t) || (p == 0 && t[0] != x) {
			continue // outside the series' first and last sample
		}
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

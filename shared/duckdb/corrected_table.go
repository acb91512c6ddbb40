package duckdb

// The corrected table, built in DuckDB.
//
// Go appends two tables through the Appender:
//
//	corr_e (pos, sid, el, p, cum[, g]): one row per table row, in the table's
//	  order (pos): the merged energy samples of each (step, node) series
//	  (sid), or for a node without energy data the union of its other
//	  series' times. el is seconds since the job's first sample; p the
//	  power the energy comes from, g the summed GPU power, cum the energy
//	  since the series' first sample (computed in Go, see
//	  corrected_energy.go).
//	corr_a (sid, src, t, v0, ...): the samples of every task, filesystem and
//	  network series (src) of each node, duplicate times merged, with the
//	  values the table shows (normalised CPU utilisation, RSS in MiB, ...).
//
// SQL then puts the aux values on the energy sample times, linearly in
// time and never beyond a series' first and last sample:
//
//	corr_bp: per node, its breakpoints (the union of its aux series'
//	  times). At each breakpoint, every aux series whose range contains it
//	  is interpolated there (two ASOF joins give its samples at or before
//	  and at or after), and the node's aggregate (the mean over its tasks
//	  of the CPU utilisation, sums otherwise) is stored three ways: at the
//	  point (p<j>), and as the left (a<j>) and right (b<j>) ends of the
//	  segment to the next breakpoint, over the series that cover that whole
//	  segment. Between two breakpoints every series is linear and the set
//	  of series present is fixed, so the aggregate is linear there too.
//	corr_r: each energy row finds its node's last breakpoint at or before
//	  it (ASOF): the point value when the times are equal, else the
//	  segment's interpolation; NULL before the first breakpoint and after
//	  the last. Filesystem and network totals become the amount since the
//	  previous row (a window per node).
//
// One ASOF join over the table's rows does the work, whatever the number
// of tasks. The result view adds the step and node names and the epoch
// time; ScanRows reads it.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/benchwrap/backend/shared/analysis"
)

// corrAuxCol is one aux column of the table.
type corrAuxCol struct {
	idx   int    // auxCPU ...
	name  string // table column
	agg   string // avg over the node's series, or sum
	delta bool   // a running total shown as the amount since the previous row
}

var corrAuxCols = []corrAuxCol{
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
func (run *corrRun) build() error {
	var rows int64
	present := make([]bool, auxCols)
	hasAux, hasGPU := false, false
	for _, s := range run.series {
		rows += int64(len(s.rows))
		hasGPU = hasGPU || s.gpu != nil
		for _, a := range s.aux {
			hasAux = true
			for j, v := range a.v {
				present[j] = present[j] || v != nil
			}
		}
	}
	if rows > run.e.opt.MaxRows {
		return skipf(analysis.SkipTooLarge, "the table would have %d rows (limit %d)", rows, run.e.opt.MaxRows)
	}
	// Columns of corr_a: the task columns when there are tasks, the
	// filesystem and network ones when present.
	var cols []corrAuxCol
	for _, c := range corrAuxCols {
		if present[c.idx] {
			cols = append(cols, c)
		}
	}
	if err := run.appendEnergy(hasGPU); err != nil {
		return err
	}
	src := "corr_e"
	if hasAux {
		if err := run.appendAux(cols); err != nil {
			return err
		}
		if err := run.interpolate(cols, hasGPU); err != nil {
			return err
		}
		src = "corr_r"
	}

	// The result view.
	var steps, nodes []string
	for _, s := range run.series {
		steps = append(steps, corrLiteral(s.step))
		nodes = append(nodes, corrLiteral(s.node))
	}
	out := []analysis.Column{{Name: "step", Type: analysis.Text}, {Name: "node", Type: analysis.Text}}
	sel := []string{
		"([" + strings.Join(steps, ", ") + "])[sid + 1] AS step",
		"([" + strings.Join(nodes, ", ") + "])[sid + 1] AS node",
	}
	add := func(name, expr string) {
		out = append(out, analysis.Column{Name: name, Type: analysis.Float64})
		sel = append(sel, expr+" AS "+quote(name))
	}
	add("elapsed_s", "el")
	add("epoch_s", sqlFloat(run.startEpoch())+" + el")
	add("power_w", "p")
	if hasGPU {
		add("gpu_power_w", "g")
	} else {
		add("gpu_power_w", "CAST(NULL AS DOUBLE)")
	}
	add("energy_j", "cum")
	for _, c := range corrAuxCols {
		switch {
		case present[c.idx]:
			add(c.name, fmt.Sprintf("v%d", c.idx))
		case c.idx <= auxWrite:
			// The task columns are always there (NULL without tasks).
			add(c.name, "CAST(NULL AS DOUBLE)")
		}
	}
	sel = append(sel, "pos AS "+hiddenPos)
	if err := run.exec("CREATE VIEW " + resultTable + " AS SELECT " + strings.Join(sel, ", ") + " FROM " + src); err != nil {
		return err
	}

	// NULL counts of the table (no silent nulls).
	var counts []string
	for _, c := range out[2:] {
		counts = append(counts, "count(*) - count("+quote(c.Name)+")")
	}
	v, err := run.e.db.row(run.ctx, "SELECT "+strings.Join(counts, ", ")+" FROM "+resultTable)
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

	run.out = &table{name: resultTable, columns: out, rows: rows}
	run.res.Rows, run.res.Columns = rows, out
	run.res.Metrics = run.sum.Metrics()
	return nil
}

// corrLiteral is a SQL string literal of s (valid UTF-8, no NUL).
func corrLiteral(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "")
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// corrWriter fills an Appender's data chunks row by row: int64 columns
// first, then float64 columns, where NaN is written as NULL.
type corrWriter struct {
	a    *chunkAppender
	ints [][]int64
	flts [][]float64
	// Validity masks of the float columns in the current chunk, fetched
	// at a column's first NULL: the bits are then cleared here, without a
	// cgo call per NULL.
	masks []unsafe.Pointer
	n     int
}

func (run *corrRun) newWriter(table, defs string, nInt, nFlt int) (*corrWriter, error) {
	run.scratch = append(run.scratch, table)
	if err := run.exec("CREATE OR REPLACE TABLE " + table + " (" + defs + ")"); err != nil {
		return nil, err
	}
	types := make([]mapping.Type, 0, nInt+nFlt)
	for i := 0; i < nInt; i++ {
		types = append(types, mapping.TypeBigInt)
	}
	for i := 0; i < nFlt; i++ {
		types = append(types, mapping.TypeDouble)
	}
	a, err := run.e.db.newAppender(table, types)
	if err != nil {
		return nil, fmt.Errorf("append %s: %w", table, err)
	}
	w := &corrWriter{a: a, ints: make([][]int64, nInt), flts: make([][]float64, nFlt), masks: make([]unsafe.Pointer, nFlt)}
	w.begin()
	return w, nil
}

func (w *corrWriter) begin() {
	for c := range w.ints {
		w.ints[c] = w.a.int64s(c)
	}
	for c := range w.flts {
		w.flts[c] = w.a.float64s(len(w.ints) + c)
		w.masks[c] = nil
	}
	w.n = 0
}

// setNull marks row i of float column c NULL in the current chunk.
func (w *corrWriter) setNull(c, i int) {
	m := w.masks[c]
	if m == nil {
		v := mapping.DataChunkGetVector(w.a.ch, mapping.IdxT(len(w.ints)+c))
		mapping.VectorEnsureValidityWritable(v)
		m = mapping.VectorGetValidity(v)
		w.masks[c] = m
	}
	word := (*uint64)(unsafe.Add(m, (i>>6)*8))
	*word &^= 1 << (uint(i) & 63)
}

func (w *corrWriter) row(ints []int64, flts []float64) error {
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
	if w.n == vectorSize {
		if err := w.a.flush(w.n); err != nil {
			return err
		}
		w.begin()
	}
	return nil
}

func (w *corrWriter) close() error {
	if err := w.a.flush(w.n); err != nil {
		w.a.close()
		return err
	}
	return w.a.close()
}

// appendEnergy writes corr_e (its column g only when some series has
// GPU fields).
func (run *corrRun) appendEnergy(hasGPU bool) error {
	defs, nf := "pos BIGINT, sid BIGINT, el DOUBLE, p DOUBLE, cum DOUBLE, g DOUBLE", 4
	if !hasGPU {
		defs, nf = "pos BIGINT, sid BIGINT, el DOUBLE, p DOUBLE, cum DOUBLE", 3
	}
	w, err := run.newWriter("corr_e", defs, 2, nf)
	if err != nil {
		return err
	}
	nan := math.NaN()
	ints := make([]int64, 2)
	flts := make([]float64, nf)
	var pos int64
	for _, s := range run.series {
		if err := run.ctx.Err(); err != nil {
			w.a.close()
			return err
		}
		ints[1] = int64(s.sid)
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
			if err := w.row(ints, flts); err != nil {
				w.a.close()
				return fmt.Errorf("append corr_e: %w", err)
			}
			pos++
		}
	}
	return w.close()
}

// appendAux writes corr_a with the columns cols.
func (run *corrRun) appendAux(cols []corrAuxCol) error {
	defs := []string{"sid BIGINT", "src BIGINT", "t DOUBLE"}
	for _, c := range cols {
		defs = append(defs, fmt.Sprintf("v%d DOUBLE", c.idx))
	}
	w, err := run.newWriter("corr_a", strings.Join(defs, ", "), 2, 1+len(cols))
	if err != nil {
		return err
	}
	nan := math.NaN()
	ints := make([]int64, 2)
	flts := make([]float64, 1+len(cols))
	var src int64
	for _, s := range run.series {
		ints[0] = int64(s.sid)
		for _, a := range s.aux {
			ints[1] = src
			src++
			for i, t := range a.t {
				flts[0] = run.rel(s, t)
				for j, c := range cols {
					flts[1+j] = nan
					if v := a.v[c.idx]; v != nil {
						flts[1+j] = v[i]
					}
				}
				if err := w.row(ints, flts); err != nil {
					w.a.close()
					return fmt.Errorf("append corr_a: %w", err)
				}
			}
		}
	}
	return w.close()
}

// interpolate creates corr_bp and corr_r (see the top of the file).
func (run *corrRun) interpolate(cols []corrAuxCol, hasGPU bool) error {
	var lohi, xs, ns, aggs []string
	for _, c := range cols {
		j := c.idx
		lohi = append(lohi, fmt.Sprintf("lo.v%d AS l%d, hi.v%d AS h%d", j, j, j, j))
		// Exactly the sample's value at a sample; else linear in time.
		xs = append(xs, fmt.Sprintf("CASE WHEN ht = lt THEN l%d ELSE l%d + (h%d - l%d) * ((t - lt) / (ht - lt)) END AS x%d", j, j, j, j, j))
		ns = append(ns, fmt.Sprintf("lead(x%d) OVER w AS n%d", j, j))
		aggs = append(aggs, fmt.Sprintf("%[1]s(x%[2]d) AS p%[2]d, %[1]s(x%[2]d) FILTER (WHERE covers) AS a%[2]d, %[1]s(n%[2]d) FILTER (WHERE covers) AS b%[2]d", c.agg, j))
	}
	bp := "WITH src AS (SELECT sid, src, min(t) AS t0, max(t) AS t1 FROM corr_a GROUP BY sid, src)," +
		" pts AS (SELECT DISTINCT sid, t FROM corr_a)," +
		" pv AS (SELECT p.sid, p.t, s.src, s.t1, lo.t AS lt, hi.t AS ht, " + strings.Join(lohi, ", ") +
		" FROM pts p JOIN src s ON s.sid = p.sid AND p.t BETWEEN s.t0 AND s.t1" +
		" ASOF JOIN corr_a lo ON lo.sid = p.sid AND lo.src = s.src AND p.t >= lo.t" +
		" ASOF JOIN corr_a hi ON hi.sid = p.sid AND hi.src = s.src AND p.t <= hi.t)," +
		" x AS (SELECT sid, t, src, t < t1 AS covers, " + strings.Join(xs, ", ") + " FROM pv)," +
		// A series present at breakpoint t and not ending there is present
		// at the node's next breakpoint too: its next row is that one.
		" xn AS (SELECT *, " + strings.Join(ns, ", ") + " FROM x WINDOW w AS (PARTITION BY sid, src ORDER BY t))" +
		" SELECT sid, t, lead(t) OVER (PARTITION BY sid ORDER BY t) AS tn, " + strings.Join(aggs, ", ") +
		" FROM xn GROUP BY sid, t"
	run.scratch = append(run.scratch, "corr_bp")
	if err := run.exec("CREATE OR REPLACE TABLE corr_bp AS " + bp); err != nil {
		return err
	}
	var vs, ds []string
	for _, c := range cols {
		j := c.idx
		vs = append(vs, fmt.Sprintf("CASE WHEN b.t = e.el THEN b.p%d WHEN b.tn IS NOT NULL THEN b.a%d + (b.b%d - b.a%d) * ((e.el - b.t) / (b.tn - b.t)) END AS v%d", j, j, j, j, j))
		if c.delta {
			ds = append(ds, fmt.Sprintf("v%d - lag(v%d) OVER (PARTITION BY sid ORDER BY pos) AS v%d", j, j, j))
		} else {
			ds = append(ds, "v"+strconv.Itoa(j))
		}
	}
	g := ""
	if hasGPU {
		g = "g, "
	}
	q := "SELECT e.*, " + strings.Join(vs, ", ") +
		" FROM corr_e e ASOF LEFT JOIN corr_bp b ON b.sid = e.sid AND e.el >= b.t"
	q = "SELECT pos, sid, el, p, cum, " + g + strings.Join(ds, ", ") + " FROM (" + q + ") ORDER BY pos"
	run.scratch = append(run.scratch, "corr_r")
	return run.exec("CREATE OR REPLACE TABLE corr_r AS " + q)
}

// corrVarchar reads row i of a VARCHAR vector's data as a string. The
// table's step and node columns are VARCHAR: the engine's columnReader
// needs this for them.
func corrVarchar(data unsafe.Pointer, i int) string {
	return string(corrVarcharBytes(data, i))
}

// corrVarcharBytes returns the bytes of row i of a VARCHAR vector's data,
// without copying (valid while the data chunk is). Each value is a 16-byte
// duckdb_string_t: a uint32 length, then the bytes themselves if there are
// at most 12 of them, else a 4-byte prefix and a pointer to the bytes.
// Reading it here avoids a cgo call per value.
func corrVarcharBytes(data unsafe.Pointer, i int) []byte {
	p := unsafe.Add(data, i*16)
	n := *(*uint32)(p)
	if n <= 12 {
		return unsafe.Slice((*byte)(unsafe.Add(p, 4)), n)
	}
	return unsafe.Slice(*(**byte)(unsafe.Add(p, 8)), n)
}

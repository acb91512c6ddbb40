package compat

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/duckdb"
)

// How the table is built (§4-§9) from the frame tables f<k> (et, c0..;
// rowid = row of the frame in sorted order). All of it is SQL except the
// sizing of the plan (makePlan) and, for fractional power, the sequential
// running sum (runningSum).
//
// tl, the timeline (§4.1): one row per distinct ElapsedTime, in time order
// (rowid = index of the time), with per frame k its row count n<k> there
// (NULL when absent) and first rowid a<k>; m, the joined rows at that time
// (the product of max(1, n<k>), §4.3), and start, the position of its
// first joined row (running sum of m); pet, the previous time; and for
// frames absent at some times, g<k> = index of the frame's last time at or
// before it (running count of n<k>, minus 1). A frame with exactly one row
// at every time ("dense", e.g. Energy in most files) carries its values in
// tl instead (v<k>_<j>), so the result reads them without a join.
//
// Positions instead of a join: the joined row at offset o of time t
// (0 <= o < m) pairs frame k's row a<k> + (o / S<k>) mod n<k>, where S<k>
// is the product of max(1, n<j>) over the later frames j (nested loops,
// first frame outermost); that is the row order of the LEFT JOIN chain
// (§4.3). The skeleton lists every joined row with its position and, per
// frame, the key of the row that supplies its values.
//
// Interpolation (§4.5) by position: every joined row of a time t carries,
// for frame k, one of k's rows at t or nothing, so all columns of a frame
// share their NULL runs and these are runs of whole times: the positions
// are computed once per frame, not per column. s<k> holds, per frame with
// absent times, one row per key: its own rows (key = rowid, b = value,
// s = -0.0) and one row per gap between consecutive times t1 < t2 of the
// frame (key = N + 1 + index of t1, b = low = value of the last joined row
// at t1, s = slope = (high - low) / (hp - lp) with lp, hp the positions of
// the last row at t1 and the first at t2), plus NULL rows for the times
// before its first and after its last row (no extrapolation). A row at
// position p gets b + K * s with K = p - lp in a gap, which is the spec's
// low + k * ((high - low) / n), and K = 0 for the frame's own rows, where
// b + 0 * -0.0 = b + -0.0 = b exactly (also for -0.0, NaN and the
// infinities): no CASE per value. Every skeleton row matches exactly one
// row of each s<k> (or of f<k> for frames present at every time), so the
// joins are inner joins with one match per row.
//
// The result is the view compat_result, computed as it is read: no copy
// of the table is ever stored (the frames, tl and s<k> are a fraction of
// its size), and the rows stream to the writer as they are computed.
// Order: the view has no ORDER BY. Its joins probe with the skeleton, read
// in order, and each finds one row, so DuckDB emits the rows almost in
// order (a row whose probe needed a second round comes later in its
// chunk). That is not a documented guarantee, so each row carries its
// position (__bw_pos) and ScanRows restores the order with a small
// buffer, or falls back to an ORDER BY for the rest (see ScanRows). The
// wide sort is thus never paid in practice.

// outCol is one column of the result: its working value (float64, or the
// UInt64 ElapsedTime and the Int64 EpochTime) as an expression over the
// layer below the casts, and its final value.
type outCol struct {
	name string
	work string
	typ  analysis.DType
	cast string
}

// energyPath is the §7 path.
type energyPath int

const (
	noEnergy energyPath = iota
	powerPath
	counterPath
)

// hiddenPos is the result's extra column (duckdb.HiddenPos). Output
// names are prefixed frame columns (non-empty prefix, then "__") or fixed
// derived names, so it cannot clash.
const hiddenPos = duckdb.HiddenPos

// maxElapsed is the §7.2 bound: with an energy path, rows at or after it
// are dropped (they are the last rows, so positions do not change).
const maxElapsed = 10_000_000

// plan is what Go works out from the frames' times before the SQL runs, to
// choose the shape of the queries and to refuse oversized tables early.
type plan struct {
	times  int64  // distinct times of all frames
	rows   int64  // joined rows (after the §7.2 filter on the energy path)
	absent []bool // frame k lacks some time of the timeline
	dense  []bool // frame k has exactly one row at every time
	dups   bool   // some frame has several rows at one time
}

// makePlan merges the frames' sorted times.
func (run *compatRun) makePlan(filter bool) (plan, error) {
	frames := run.frames
	p := plan{absent: make([]bool, len(frames))}
	idx := make([]int, len(frames))
	limit := run.Opt.MaxRows
	for {
		var t uint64
		found := false
		for k, f := range frames {
			if idx[k] < len(f.times) && (!found || f.times[idx[k]] < t) {
				t, found = f.times[idx[k]], true
			}
		}
		if !found {
			break
		}
		p.times++
		m := int64(1)
		for k, f := range frames {
			if idx[k] < len(f.times) && f.times[idx[k]] == t {
				m *= int64(f.counts[idx[k]])
				if m > limit {
					return p, duckdb.Skipf(analysis.SkipTooLarge, "time %d alone would give more than %d joined rows", t, limit)
				}
				idx[k]++
			}
		}
		if !filter || t < maxElapsed {
			p.rows += m
			if p.rows > limit {
				return p, duckdb.Skipf(analysis.SkipTooLarge, "the joined table would have more than %d rows", limit)
			}
		}
	}
	p.dense = make([]bool, len(frames))
	for k, f := range frames {
		p.absent[k] = int64(len(f.times)) < p.times
		p.dense[k] = !p.absent[k] && !f.dups
		p.dups = p.dups || f.dups
		f.times, f.counts = nil, nil
	}
	return p, nil
}

// build makes the result table from the frames.
func (run *compatRun) build() error {
	frames := run.frames
	det := &run.Res.Details

	// Columns of the joined table (§3.4, §4.3) with their working values
	// w<k>_<j>.
	type src struct {
		name, work string
		k, j       int
	}
	var cols []src
	for k, f := range frames {
		for j, m := range f.members {
			cols = append(cols, src{f.prefix + "__" + m, fmt.Sprintf("w%d_%d", k, j), k, j})
		}
	}
	find := func(pred func(string) bool) (src, bool) {
		for _, c := range cols {
			if pred(c.name) {
				return c, true
			}
		}
		return src{}, false
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
		det.EpochColumn = epoch.name
	}
	if hasPower {
		det.PowerColumn = power.name
	}
	if hasEnergy {
		det.EnergyColumn = energy.name
	}
	path := noEnergy
	switch {
	case hasPower:
		path = powerPath
	case hasEnergy:
		path = counterPath
	}

	p, err := run.makePlan(path != noEnergy)
	if err != nil {
		return err
	}
	if p.rows == 0 {
		return duckdb.Skipf(analysis.SkipNoData, "the table has no rows")
	}
	if err := run.timeline(p); err != nil {
		return err
	}
	for k, f := range frames {
		if p.absent[k] && len(f.members) > 0 {
			if err := run.segments(k); err != nil {
				return err
			}
		}
	}
	sk := run.skeleton(p, path != noEnergy)
	// frameJoin joins the skeleton with the rows of frame k's values;
	// direct is the working value of column j over that join (the same
	// expression as w<k>_<j> below, for the narrower metric queries).
	frameJoin := func(k int) string {
		if p.dense[k] {
			return ""
		}
		if !p.absent[k] {
			return fmt.Sprintf("JOIN %s x%d ON x%d.rowid = sk.key%d", frames[k].table, k, k, k)
		}
		return fmt.Sprintf("JOIN s%d ON s%d.key = sk.key%d", k, k, k)
	}
	direct := func(k, j int) string {
		if p.dense[k] {
			return fmt.Sprintf("sk.v%d_%d", k, j)
		}
		if !p.absent[k] {
			return fmt.Sprintf("x%d.c%d", k, j)
		}
		return fmt.Sprintf("s%d.b%d + coalesce(CAST(sk.pos - s%d.lp AS DOUBLE), 0.0) * s%d.s%d", k, j, k, k, j)
	}

	// Output columns (§9) with their working values.
	var out []outCol
	add := func(name, work string) { out = append(out, outCol{name: name, work: work}) }
	add("ElapsedTime", "et")
	for _, c := range cols {
		add(c.name, c.work)
	}
	if hasEpoch {
		// The original casts strictly to Int64 here: NaN or a value out of
		// range fails the file (DuckDB's cast errors likewise, §10).
		add("EpochTime", "CAST(trunc("+epoch.work+") AS BIGINT)")
	}
	for _, c := range cols { // §6
		if strings.HasSuffix(c.name, "__RSS") {
			add(strings.ReplaceAll(c.name, "__RSS", "__RSS_MB"), c.work+" / 1024.0")
		}
		if strings.HasSuffix(c.name, "__CPUUtilization") {
			add(strings.ReplaceAll(c.name, "__CPUUtilization", "__CPUUtilization_normalized"), c.work+" / 32.0")
		}
	}
	// ElapsedTime_Diff (§7.3): t[i] - t[i-1] in float64, which is non-zero
	// only on the first row of a time after the first.
	const diff = "(CASE WHEN first AND pet IS NOT NULL THEN CAST(et AS DOUBLE) - CAST(pet AS DOUBLE) ELSE 0.0 END)"
	var np, used string // working NodePower and Energy_used_J, for the metrics
	var extra []string  // joins of per-time or per-row energy values
	switch path {
	case powerPath:
		if err := run.runningSum(p, power.k, power.j); err != nil {
			return err
		}
		extra = append(extra, "JOIN used ON used.r = sk.tr")
		np = power.work
		used = "CASE WHEN " + np + " IS NOT NULL THEN used_t END"
		add("NodePower", np)
		add("ElapsedTime_Diff", diff)
		add("Energy_Increment_J", diff+" * "+np)
		add("Energy_used_J", used)
	case counterPath:
		if err := run.counterIncrements(sk, frameJoin(energy.k), direct(energy.k, energy.j)); err != nil {
			return err
		}
		extra = append(extra, "JOIN cinc ON cinc.pos = sk.pos")
		used = energy.work
		np = "CASE WHEN first AND pet IS NOT NULL THEN cinc_inc / (CAST(et AS DOUBLE) - CAST(pet AS DOUBLE)) END"
		add("Energy_used_J", used)
		add("Energy_Increment_J", "cinc_inc")
		add("NodePower", np)
	}
	seen := make(map[string]string, len(out))
	for i := range out {
		c := &out[i]
		key := strings.ToLower(c.name) // DuckDB names are case-insensitive
		if prev, dup := seen[key]; dup {
			return duckdb.Skipf(analysis.SkipUnexpected, "duplicate column name %q (and %q)", c.name, prev)
		}
		seen[key] = c.name
		o := "o" + strconv.Itoa(i) // the working value in the layer below the casts
		rule, ok := ruleFor(c.name)
		switch {
		case c.name == "ElapsedTime":
			// Still UInt64 (on the energy path the float64 round trip is
			// exact below 1e7), so compared as an integer.
			c.typ, c.cast = analysis.UInt64, "CASE WHEN "+o+" <= 9223372036854775807 THEN "+o+" END"
		case c.name == "EpochTime":
			// Already Int64: rule 3 on the integer.
			c.typ, c.cast = analysis.Int64, "CASE WHEN "+o+" BETWEEN 0 AND 4102444800 THEN "+o+" END"
		case ok:
			c.typ, c.cast = rule.typ, castExpr(o, rule)
		default:
			c.typ, c.cast = analysis.Float64, o
		}
	}

	if hasEpoch {
		if err := run.checkEpoch(p, epoch.k, epoch.j, frameJoin, direct); err != nil {
			return err
		}
	}
	// Metrics first (§7.5): they come from the working values, and they
	// find the row from which a non-finite power makes the running sum NaN.
	if path != noEnergy {
		var q string
		switch path {
		case powerPath:
			q = fmt.Sprintf("SELECT sk.pos, sk.et, sk.first, %s AS np, used.used AS used_t FROM (%s) sk %s JOIN used ON used.r = sk.tr",
				direct(power.k, power.j), sk, frameJoin(power.k))
		case counterPath:
			e := direct(energy.k, energy.j)
			q = fmt.Sprintf("SELECT sk.pos, sk.et, sk.first, CASE WHEN sk.first AND sk.pet IS NOT NULL THEN cinc.inc / (CAST(sk.et AS DOUBLE) - CAST(sk.pet AS DOUBLE)) END AS np, %s AS used_t "+
				"FROM (%s) sk %s JOIN cinc ON cinc.pos = sk.pos", e, sk, frameJoin(energy.k))
		}
		m, nanFrom, err := run.metrics(path, q)
		if err != nil {
			return err
		}
		run.Res.Metrics = m
		if nanFrom >= 0 {
			used = fmt.Sprintf("CASE WHEN %s IS NOT NULL THEN (CASE WHEN pos >= %d THEN CAST('NaN' AS DOUBLE) ELSE used_t END) END", np, nanFrom)
			for i := range out {
				if out[i].name == "Energy_used_J" {
					out[i].work = used
				}
			}
		}
	}

	// The result: skeleton, one join per frame with values, the working
	// values, the outputs and their casts, and the position.
	l1 := []string{"sk.pos", "sk.et", "sk.pet", "sk.first"}
	joins := []string{"(" + sk + ") sk"}
	var kExprs, wExprs []string
	for k, f := range frames {
		if len(f.members) == 0 {
			continue
		}
		if p.dense[k] {
			for j := range f.members {
				l1 = append(l1, fmt.Sprintf("sk.v%d_%d AS w%d_%d", k, j, k, j))
			}
			continue
		}
		joins = append(joins, frameJoin(k))
		if !p.absent[k] {
			for j := range f.members {
				l1 = append(l1, fmt.Sprintf("x%d.c%d AS w%d_%d", k, j, k, j))
			}
			continue
		}
		l1 = append(l1, fmt.Sprintf("s%d.lp AS lp%d", k, k))
		kExprs = append(kExprs, fmt.Sprintf("coalesce(CAST(pos - lp%d AS DOUBLE), 0.0) AS k%d", k, k))
		for j := range f.members {
			l1 = append(l1, fmt.Sprintf("s%d.b%d AS b%d_%d", k, j, k, j), fmt.Sprintf("s%d.s%d AS s%d_%d", k, j, k, j))
			wExprs = append(wExprs, fmt.Sprintf("b%d_%d + k%d * s%d_%d AS w%d_%d", k, j, k, k, j, k, j))
		}
	}
	joins = append(joins, extra...)
	switch path {
	case powerPath:
		l1 = append(l1, "used.used AS used_t")
	case counterPath:
		l1 = append(l1, "cinc.inc AS cinc_inc")
	}
	q := "SELECT " + strings.Join(l1, ", ") + " FROM " + strings.Join(joins, " ")
	if len(kExprs) > 0 {
		q = "SELECT *, " + strings.Join(wExprs, ", ") + " FROM (SELECT *, " + strings.Join(kExprs, ", ") + " FROM (" + q + ") a1) a2"
	}
	var l4, l5 []string
	l4 = append(l4, "pos")
	for i, c := range out {
		l4 = append(l4, c.work+" AS o"+strconv.Itoa(i))
		l5 = append(l5, c.cast+" AS "+duckdb.Quote(c.name))
	}
	l5 = append(l5, "pos AS "+hiddenPos)
	q = "SELECT " + strings.Join(l5, ", ") + " FROM (SELECT " + strings.Join(l4, ", ") + " FROM (" + q + ") a3) a4"
	if err := run.Exec("CREATE VIEW " + duckdb.ResultTable + " AS " + q); err != nil {
		return err
	}
	t := &duckdb.Table{Name: duckdb.ResultTable, Rows: p.rows}
	for _, c := range out {
		t.Columns = append(t.Columns, analysis.Column{Name: c.name, Type: c.typ})
	}
	run.Res.Rows, run.Res.Columns = p.rows, t.Columns
	run.out = t
	return nil
}

// timeline creates tl. A dense frame (one row at every time) lists the
// timeline itself: when there is one, tl is that frame, with its values
// (v<k>_<j>, which the result then reads without a join) and the other
// frames' counts joined on ElapsedTime. Otherwise the frames' times are
// merged by a GROUP BY.
func (run *compatRun) timeline(p plan) error {
	base := -1
	for k := range run.frames {
		if p.dense[k] {
			base = k
			run.dense = true
			break
		}
	}
	times := func(k int) string { // the frame's distinct times, n and first rowid
		f := run.frames[k]
		if !f.dups {
			return fmt.Sprintf("SELECT et, 1 AS n, rowid AS a FROM %s", f.table)
		}
		return fmt.Sprintf("SELECT et, count(*) AS n, min(rowid) AS a FROM %s GROUP BY et", f.table)
	}
	var from string
	var cols, sel, m []string
	if base >= 0 {
		from = run.frames[base].table + " b"
		for k, f := range run.frames {
			switch {
			case k == base:
				for j := range f.members {
					cols = append(cols, fmt.Sprintf("b.c%d AS v%d_%d", j, k, j))
				}
			case p.dense[k]:
				from += fmt.Sprintf(" JOIN %s x%d ON x%d.et = b.et", f.table, k, k)
				for j := range f.members {
					cols = append(cols, fmt.Sprintf("x%d.c%d AS v%d_%d", k, j, k, j))
				}
			default:
				from += fmt.Sprintf(" LEFT JOIN (%s) d%d ON d%d.et = b.et", times(k), k, k)
				cols = append(cols, fmt.Sprintf("d%d.n AS n%d", k, k), fmt.Sprintf("d%d.a AS a%d", k, k))
			}
		}
		from = "(SELECT b.et, " + strings.Join(cols, ", ") + " FROM " + from + ")"
	} else {
		var union, pivot []string
		for k := range run.frames {
			union = append(union, fmt.Sprintf("SELECT %d AS k, et, n, a FROM (%s)", k, times(k)))
			pivot = append(pivot, fmt.Sprintf("max(n) FILTER (WHERE k = %d) AS n%d", k, k), fmt.Sprintf("max(a) FILTER (WHERE k = %d) AS a%d", k, k))
		}
		from = "(SELECT et, " + strings.Join(pivot, ", ") + " FROM (" + strings.Join(union, " UNION ALL ") + ") GROUP BY et)"
	}
	for k, f := range run.frames {
		if p.dense[k] {
			for j := range f.members {
				sel = append(sel, fmt.Sprintf("v%d_%d", k, j))
			}
			continue
		}
		sel = append(sel, fmt.Sprintf("n%d", k), fmt.Sprintf("a%d", k))
		if p.absent[k] {
			sel = append(sel, fmt.Sprintf("count(n%d) OVER w - 1 AS g%d", k, k))
		}
		m = append(m, fmt.Sprintf("coalesce(n%d, 1)", k))
	}
	if p.dups {
		prod := strings.Join(m, " * ")
		sel = append(sel, prod+" AS m", "CAST(sum("+prod+") OVER w AS BIGINT) - ("+prod+") AS start")
	}
	q := "SELECT et, lag(et) OVER (ORDER BY et) AS pet" + prefixComma(sel) + " FROM " + from +
		" WINDOW w AS (ORDER BY et ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) ORDER BY et"
	return run.Create("tl", q)
}

// skeleton is the query listing every joined row in order: tr (the row
// of tl), pos, et, pet, first (the first row of its time) and key<k>, the
// key of the row that supplies frame k's values (see the top comment).
func (run *compatRun) skeleton(p plan, filter bool) string {
	where := ""
	if filter {
		where = fmt.Sprintf(" WHERE et < %d", maxElapsed)
	}
	var keys []string
	for k, f := range run.frames {
		if len(f.members) == 0 {
			continue
		}
		if p.dense[k] { // the values are in tl
			for j := range f.members {
				keys = append(keys, fmt.Sprintf("v%d_%d", k, j))
			}
			continue
		}
		present := fmt.Sprintf("a%d", k)
		if p.dups && f.dups {
			var stride []string
			for j := k + 1; j < len(run.frames); j++ {
				if run.frames[j].dups {
					stride = append(stride, fmt.Sprintf("coalesce(n%d, 1)", j))
				}
			}
			s := "1"
			if len(stride) > 0 {
				s = strings.Join(stride, " * ")
			}
			present = fmt.Sprintf("a%d + (o // (%s)) %% n%d", k, s, k)
		}
		key := present
		if p.absent[k] {
			key = fmt.Sprintf("CASE WHEN n%d IS NOT NULL THEN %s ELSE %d + g%d END", k, present, f.rows+1, k)
		}
		keys = append(keys, key+fmt.Sprintf(" AS key%d", k))
	}
	if !p.dups {
		// One joined row per time: the position is the time's index.
		return "SELECT rowid AS tr, rowid AS pos, et, pet, true AS first" + prefixComma(keys) + " FROM tl" + where
	}
	return "SELECT tr, start + o AS pos, et, pet, o = 0 AS first" + prefixComma(keys) +
		" FROM (SELECT rowid AS tr, *, unnest(range(m)) AS o FROM tl" + where + ")"
}

func prefixComma(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return ", " + strings.Join(s, ", ")
}

// segments creates s<k> for a frame absent at some times.
func (run *compatRun) segments(k int) error {
	f := run.frames[k]
	var own, gap, null []string
	for j := range run.frames[k].members {
		own = append(own, fmt.Sprintf("c%d AS b%d", j, j), fmt.Sprintf("CAST('-0.0' AS DOUBLE) AS s%d", j))
		gap = append(gap, fmt.Sprintf("x.c%d", j), fmt.Sprintf("(y.c%d - x.c%d) / CAST(d.hp - d.lp AS DOUBLE)", j, j))
		null = append(null, "NULL", "NULL")
	}
	// Gap i (between the frame's times i and i+1) has key N + 1 + i; the
	// times before the first have key N, those after the last N + D.
	q := fmt.Sprintf("SELECT rowid AS key, CAST(NULL AS BIGINT) AS lp, %[1]s FROM %[2]s"+
		" UNION ALL SELECT %[3]d + 1 + d.gid, d.lp, %[4]s FROM (SELECT row_number() OVER (ORDER BY et) - 1 AS gid, start + m - 1 AS lp,"+
		" lead(start) OVER (ORDER BY et) AS hp, a%[5]d + n%[5]d - 1 AS lo, lead(a%[5]d) OVER (ORDER BY et) AS hi FROM (%[6]s) WHERE n%[5]d IS NOT NULL) d"+
		" JOIN %[2]s x ON x.rowid = d.lo JOIN %[2]s y ON y.rowid = d.hi WHERE d.hp - d.lp > 1"+
		" UNION ALL SELECT %[3]d, NULL, %[7]s"+
		" UNION ALL SELECT %[3]d + 1 + count(*) - 1, NULL, %[7]s FROM tl WHERE n%[5]d IS NOT NULL",
		strings.Join(own, ", "), f.table, f.rows, strings.Join(gap, ", "), k, run.tlWithStart(), strings.Join(null, ", "))
	return run.Create(fmt.Sprintf("s%d", k), q)
}

// tlWithStart is tl with its row number tr and the columns start
// (position of the first joined row of each time) and m, which tl stores
// only when some time has several joined rows.
func (run *compatRun) tlWithStart() string {
	for _, f := range run.frames {
		if f.dups {
			return "SELECT rowid AS tr, * FROM tl"
		}
	}
	return "SELECT rowid AS tr, *, rowid AS start, 1 AS m FROM tl"
}

// runningSum creates used(r, used) (power path, §7.3): Energy_used_J at the
// time of tl row r, for the power column w<k>_<j>.
//
// On the joined rows, Energy_used_J is the sequential float64 sum of the
// non-NULL increments diff*power. Rows after the first of their time have
// diff 0, so they add ±0 (which leaves a float64 sum unchanged) as long as
// their power is finite; the sum therefore only changes at the first row
// of a time, and the per-time sums are the per-row sums. (A non-finite
// power on a later row makes the sum NaN from that row on: fixed up after
// the table is built, see metrics.)
//
// The sum must be sequential to give the original's bits. DuckDB's
// windowed SUM is not sequential (segment trees), so it is used only when
// every increment is an integer and the sum of their magnitudes is below
// 2^52: then every partial sum is exact in any order. Otherwise (e.g.
// interpolated fractional power) the sum is done in Go, in time order,
// and appended back.
func (run *compatRun) runningSum(p plan, k, j int) error {
	f := run.frames[k]
	// The power at the first joined row of each time: the frame's row a<k>,
	// or the interpolation at position start.
	var from, val string
	switch {
	case p.dense[k]:
		val = fmt.Sprintf("tl.v%d_%d", k, j)
	case p.absent[k]:
		from = fmt.Sprintf("JOIN s%d ON s%d.key = CASE WHEN tl.n%d IS NOT NULL THEN tl.a%d ELSE %d + tl.g%d END", k, k, k, k, f.rows+1, k)
		val = fmt.Sprintf("s%d.b%d + coalesce(CAST(tl.start - s%d.lp AS DOUBLE), 0.0) * s%d.s%d", k, j, k, k, j)
	default:
		from = fmt.Sprintf("JOIN %s x ON x.rowid = tl.a%d", f.table, k)
		val = fmt.Sprintf("x.c%d", j)
	}
	q := fmt.Sprintf("SELECT tl.tr AS r, (CASE WHEN tl.pet IS NULL THEN 0.0 ELSE CAST(tl.et AS DOUBLE) - CAST(tl.pet AS DOUBLE) END) * (%s) AS inc "+
		"FROM (%s) tl %s WHERE tl.et < %d", val, run.tlWithStart(), from, maxElapsed)
	if err := run.Create("inc", q); err != nil {
		return err
	}
	chk, err := run.DB.Row(run.Ctx, "SELECT count(*) FILTER (WHERE NOT (isfinite(inc) AND inc = trunc(inc))), "+
		"CAST(coalesce(sum(abs(inc)) FILTER (WHERE isfinite(inc)), 0) AS DOUBLE) FROM inc WHERE inc IS NOT NULL")
	if err != nil {
		return fmt.Errorf("check increments: %w", err)
	}
	if inexact, mag := chk[0].(int64), chk[1].(float64); inexact == 0 && mag < 1<<52 {
		run.sumInGo = false
		return run.Create("used", "SELECT r, sum(inc) OVER (ORDER BY r ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS used FROM inc")
	}
	run.sumInGo = true
	// Read the increments in time order, sum them, then append (the
	// connection serves one statement at a time).
	var r []int64
	var used []float64
	var valid []bool
	err = run.DB.Stream(run.Ctx, "SELECT r, inc FROM inc ORDER BY r", func(ch mapping.DataChunk, types []mapping.Type) error {
		n := int(mapping.DataChunkGetSize(ch))
		rc := duckdb.NewColumnReader(mapping.DataChunkGetVector(ch, 0), types[0])
		ic := duckdb.NewColumnReader(mapping.DataChunkGetVector(ch, 1), types[1])
		for i := 0; i < n; i++ {
			r = append(r, rc.Value(i).(int64))
			v, ok := ic.Value(i).(float64)
			used = append(used, v)
			valid = append(valid, ok)
		}
		return nil
	})
	if err != nil {
		return err
	}
	acc := 0.0
	for i, ok := range valid {
		if ok {
			acc += used[i]
			used[i] = acc
		}
	}
	run.AddScratch("used")
	if err := run.Exec("CREATE OR REPLACE TABLE used (r BIGINT, used DOUBLE)"); err != nil {
		return err
	}
	a, err := run.DB.NewAppender("used", []mapping.Type{mapping.TypeBigInt, mapping.TypeDouble})
	if err != nil {
		return err
	}
	for off := 0; off < len(r); off += duckdb.VectorSize {
		n := min(duckdb.VectorSize, len(r)-off)
		copy(a.Int64s(0), r[off:off+n])
		copy(a.Float64s(1), used[off:off+n])
		for i, ok := range valid[off : off+n] {
			if !ok {
				a.SetNull(1, i)
			}
		}
		if err := a.Flush(n); err != nil {
			a.Close()
			return err
		}
	}
	return a.Close()
}

// counterIncrements creates cinc(pos, inc) (cumulative path, §7.4):
// Energy_Increment_J = used[i] - used[i-1], 0 at row 0 or where either is
// NULL, over the joined rows in order: a window over the skeleton and the
// energy column only (e, its working value over join).
func (run *compatRun) counterIncrements(sk, join, e string) error {
	q := fmt.Sprintf("SELECT pos, CASE WHEN e IS NULL OR pe IS NULL THEN 0.0 ELSE e - pe END AS inc FROM "+
		"(SELECT pos, e, lag(e) OVER (ORDER BY pos) AS pe FROM (SELECT sk.pos, %s AS e FROM (%s) sk %s))", e, sk, join)
	return run.Create("cinc", q)
}

// metrics computes §7.5 from the working values (before the §8 casts)
// over q, which lists per joined row: pos, et, first (first row of its
// time), np (working NodePower) and used_t (Energy_used_J where np is not
// NULL, on the power path; the energy counter on the cumulative path).
// nanFrom is the position from which Energy_used_J is NaN (-1 if never):
// a non-finite power on a row that is not the first of its time adds
// 0 * power = NaN to the running sum.
func (run *compatRun) metrics(path energyPath, q string) (*analysis.Metrics, int64, error) {
	// polars' max ignores NaN; DuckDB orders NaN above everything, so NaN
	// is filtered out. The peak's time is that of its first row.
	used := "used_t"
	if path == powerPath {
		used = "CASE WHEN np IS NOT NULL THEN used_t END"
	}
	agg := fmt.Sprintf("SELECT CAST(max(et) AS DOUBLE), max(np) FILTER (WHERE NOT isnan(np)),"+
		" CAST(arg_max(et, struct_pack(v := np, p := -pos)) FILTER (WHERE np IS NOT NULL AND NOT isnan(np)) AS DOUBLE),"+
		" min(pos) FILTER (WHERE NOT first AND NOT isfinite(np)), max(u) FILTER (WHERE NOT isnan(u)) FROM (SELECT *, %s AS u FROM (%s))", used, q)
	v, err := run.DB.Row(run.Ctx, agg)
	if err != nil {
		return nil, 0, fmt.Errorf("metrics: %w", err)
	}
	tts := analysis.Number(v[0])
	peak := analysis.Number(v[1])
	peakTime := analysis.Number(v[2])
	ets := analysis.Number(v[4])
	from := int64(-1)
	if n, ok := v[3].(int64); ok && path == powerPath {
		from = n
		q := fmt.Sprintf("SELECT max(u) FILTER (WHERE NOT isnan(u)) FROM (SELECT *, %s AS u FROM (%s)) WHERE pos < %d", used, q, from)
		w, err := run.DB.Row(run.Ctx, q)
		if err != nil {
			return nil, 0, fmt.Errorf("metrics: %w", err)
		}
		ets = analysis.Number(w[0])
	}
	return finiteMetrics(analysis.NewMetrics(ets, tts, peak, peakTime)), from, nil
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
// value beyond Int64 fails the file (a DuckDB conversion error, which
// Compat reports as unexpected). The view computes EpochTime only when it
// is read, so this must fail here, not during a scan. When the source
// column is finite and well inside Int64, so are its interpolations, and
// the check is skipped.
func (run *compatRun) checkEpoch(p plan, k, j int, join func(int) string, direct func(int, int) string) error {
	v, err := run.DB.Row(run.Ctx, fmt.Sprintf("SELECT bool_and(isfinite(c%d) AND abs(c%d) < 4e18) FROM %s", j, j, run.frames[k].table))
	if err != nil {
		return err
	}
	if ok, _ := v[0].(bool); ok {
		return nil
	}
	return run.Exec(fmt.Sprintf("SELECT count(CAST(trunc(%s) AS BIGINT)) FROM (%s) sk %s", direct(k, j), run.skeleton(p, false), join(k)))
}

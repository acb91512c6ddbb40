package results

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/apperr"
)

// Levels: what a job's first series request needs, recorded while the
// analysis writes the run's table (LevelRecorder, in postgres.Sink) and
// stored per run in the same transaction (migration 031), so that request
// does not read the whole table. Per series of the run's
// table: its rows' count and its M4 level at levelBuckets over every field
// (the rows an in-memory answer would use for a request over many rows),
// or all its rows when it has no more than levelMinRows. A request
// answered from them gives exactly the rows the loaded series would give.
// Levels are keyed by run: a re-analysed object has a new run and so new
// levels, and a job's files name their latest runs only.

// Range is a time range of a series request, epoch seconds, inclusive.
type Range struct{ From, To float64 }

// LevelsVersion is the level stored by this code: the buckets of its M4
// level. Stored levels of another version are rebuilt.
const LevelsVersion = levelBuckets

// buildLevels makes sure a run's table has its levels stored: it reads
// the table and stores its levels unless they are there (the store
// serialises builds of one run, so a reader waits for a build under way
// instead of repeating it). It returns the encoded levels.
func buildLevels(ctx context.Context, st Store, f File) ([]byte, error) {
	return st.BuildLevels(ctx, f.RunID, LevelsVersion, func(ctx context.Context, st Store) ([]byte, error) {
		ses, err := readSeries(ctx, st, f, nil)
		if err != nil {
			return nil, err
		}
		return encodeLevels(ses), nil
	})
}

// levels returns the job's series as its stored levels hold them, building
// the levels of runs without (analysed before levels existed).
func (s *Service) levels(ctx context.Context, key string, files []File) (*jobSeries, error) {
	key += "\x00levels"
	if d := s.Cache.get(key); d != nil {
		return d, nil
	}
	var ids []int64
	for _, f := range files {
		if seriesTable(f) {
			ids = append(ids, f.RunID)
		}
	}
	stored, err := s.Store.Levels(ctx, ids, LevelsVersion)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	d := &jobSeries{}
	for _, f := range files {
		if !seriesTable(f) {
			d.skipped = append(d.skipped, f.Key)
			continue
		}
		b, ok := stored[f.RunID]
		if !ok {
			if b, err = buildLevels(ctx, s.Store, f); err != nil {
				return nil, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
			}
		}
		ses, err := decodeLevels(b, f)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, "Results temporarily unavailable.", fmt.Errorf("run %d: %w", f.RunID, err))
		}
		d.add(ses)
	}
	sortSeries(d.series)
	s.Cache.put(key, d)
	return d, nil
}

// The encoding, little-endian: "BWL1", then the series count and, per
// series: step, node, rows, whether it is whole (all rows) or a level,
// the stored rows' count m, the fields with values and their names, for a
// level m row numbers (uint32), then m times and per field m values
// (float64 bits).
const levelsMagic = "BWL1"

func encodeLevels(ses []*series) []byte {
	b := make([]byte, 0, levelsSize(ses))
	b = append(b, levelsMagic...)
	b = binary.AppendUvarint(b, uint64(len(ses)))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	floats := func(x []float64) {
		for _, v := range x {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	for _, se := range ses {
		str(se.key[0])
		str(se.key[1])
		b = binary.AppendUvarint(b, uint64(se.N))
		t, cols := se.LT, se.LCols
		whole := se.LT == nil
		if whole {
			t, cols = se.T, se.Cols
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(t)))
		var names []string
		for _, n := range seriesFieldNames {
			if cols[n] != nil {
				names = append(names, n)
			}
		}
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, n := range names {
			str(n)
		}
		if !whole {
			for _, r := range se.LIdx {
				b = binary.LittleEndian.AppendUint32(b, uint32(r))
			}
		}
		floats(t)
		for _, n := range names {
			floats(cols[n])
		}
	}
	return b
}

// levelsSize bounds the encoding's size, so that it is made at once:
// grown by append, a big table's levels would be allocated about five
// times over.
func levelsSize(ses []*series) int {
	const uv = binary.MaxVarintLen64
	n := len(levelsMagic) + uv
	for _, se := range ses {
		t, cols := se.LT, se.LCols
		if t == nil {
			t, cols = se.T, se.Cols
		}
		n += 5*uv + 1 + len(se.key[0]) + len(se.key[1]) + 4*len(se.LIdx) + 8*len(t)
		for name, c := range cols {
			if c != nil {
				n += uv + len(name) + 8*len(t)
			}
		}
	}
	return n
}

var errLevels = errors.New("levels: malformed")

// decodeLevels reads a run's levels as series of the file f.
func decodeLevels(b []byte, f File) ([]*series, error) {
	if len(b) < len(levelsMagic) || string(b[:len(levelsMagic)]) != levelsMagic {
		return nil, errLevels
	}
	b = b[len(levelsMagic):]
	bad := false
	uv := func() int {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > math.MaxInt32 {
			bad = true
			return 0
		}
		b = b[n:]
		return int(v)
	}
	take := func(n int) []byte {
		if bad || n < 0 || n > len(b) {
			bad = true
			return nil
		}
		x := b[:n]
		b = b[n:]
		return x
	}
	str := func() string { return string(take(uv())) }
	floats := func(m int) []float64 {
		x := take(8 * m)
		if x == nil {
			return nil
		}
		out := make([]float64, m)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(x[8*i:]))
		}
		return out
	}
	count := uv()
	var out []*series
	for range count {
		step, node := str(), str()
		se := f.newSeries(step, node)
		se.N = uv()
		whole := take(1)
		m := uv()
		names := make([]string, uv())
		for i := range names {
			names[i] = str()
		}
		if bad || len(whole) != 1 {
			return nil, errLevels
		}
		cols := map[string][]float64{}
		if whole[0] == 0 {
			x := take(4 * m)
			se.LIdx = make([]int32, m)
			for i := range se.LIdx {
				if x != nil {
					se.LIdx[i] = int32(binary.LittleEndian.Uint32(x[4*i:]))
				}
			}
		}
		t := floats(m)
		for _, n := range names {
			cols[n] = floats(m)
		}
		if bad {
			return nil, errLevels
		}
		if whole[0] == 1 {
			se.T, se.Cols = t, cols
		} else {
			se.LT, se.LCols = t, cols
		}
		out = append(out, se)
	}
	if bad || len(b) != 0 {
		return nil, errLevels
	}
	return out, nil
}

// LevelRecorder builds a table's levels from its rows while they are
// written (postgres.Sink), so they are stored in the transaction that
// publishes the table: a job is never seen analysed without them. The
// rows, in the order written, are the table's physical order, which a
// read of the table gives back: the levels equal those built from it.
// A series its source announced (Expect) is leveled as its rows pass
// (streamed) instead of kept.
type LevelRecorder struct {
	width         int // values per row
	step, node, t int
	fields        []int    // columns of the SeriesFields the table has
	names         []string // their field names
	by            map[[2]string]*recorded
	order         []*recorded
	last          *recorded
	vals          []float64                          // a row's fields' values
	announced     map[[2]string]analysis.SeriesRange // big series to level as they pass (Expect)
}

// recorded is a series' rows (t, cols), or its level as they pass
// (stream).
type recorded struct {
	key      [2]string
	t        chunked
	cols     []chunked
	unsorted bool // a time went backwards
	stream   *streamed
}

// add records the series' next row: its time and fields' values.
func (rec *recorded) add(tm float64, vals []float64) {
	if rec.stream != nil {
		rec.stream.add(tm, vals)
		return
	}
	if rec.t.n > 0 && tm < rec.t.last() {
		rec.unsorted = true
	}
	rec.t.add(tm)
	for i, v := range vals {
		rec.cols[i].add(v)
	}
}

// chunked is a growing column kept in fixed chunks: no copy as it grows.
type chunked struct {
	c [][]float64
	n int
}

const chunkLen = 1 << 16

func (c *chunked) add(v float64) {
	if c.n%chunkLen == 0 {
		c.c = append(c.c, make([]float64, 0, chunkLen))
	}
	c.c[len(c.c)-1] = append(c.c[len(c.c)-1], v)
	c.n++
}

func (c *chunked) last() float64 {
	x := c.c[len(c.c)-1]
	return x[len(x)-1]
}

// flat returns the column as one slice and lets the chunks go.
func (c *chunked) flat() []float64 {
	out := make([]float64, 0, c.n)
	for i, x := range c.c {
		out = append(out, x...)
		c.c[i] = nil
	}
	c.c = nil
	return out
}

// NewLevelRecorder returns a recorder for a table of these columns, or
// nil when the table has no series (no epoch_s or step column).
func NewLevelRecorder(columns []string) *LevelRecorder {
	r := &LevelRecorder{width: len(columns), step: -1, node: -1, t: -1, by: map[[2]string]*recorded{}, announced: map[[2]string]analysis.SeriesRange{}}
	at := map[string]int{}
	for i, c := range columns {
		at[c] = i
	}
	var ok bool
	if r.step, ok = at["step"]; !ok {
		return nil
	}
	if r.t, ok = at["epoch_s"]; !ok {
		return nil
	}
	if i, ok := at["node"]; ok {
		r.node = i
	}
	for _, n := range seriesFieldNames {
		if i, ok := at[SeriesFields[n]]; ok {
			r.fields = append(r.fields, i)
			r.names = append(r.names, n)
		}
	}
	r.vals = make([]float64, len(r.fields))
	return r
}

// Expect takes the series of the rows to come, as their source announces
// them (analysis.SeriesRangeSource), before the first row: a series of
// more than levelMinRows rows is then leveled as its rows pass, without
// keeping them. A series announced twice is recorded as unannounced (its
// two announcements are not one range).
func (r *LevelRecorder) Expect(ranges []analysis.SeriesRange) {
	times := map[[2]string]int{}
	for _, sr := range ranges {
		times[[2]string{sr.Step, sr.Node}]++
	}
	for _, sr := range ranges {
		// Small series are stored whole: their rows are kept anyway.
		if k := [2]string{sr.Step, sr.Node}; times[k] == 1 && sr.Rows > levelMinRows {
			r.announced[k] = sr
		}
	}
}

// Row records one row as written.
func (r *LevelRecorder) Row(row []any) {
	if len(row) != r.width || row[r.t] == nil { // the writer refuses a row of another width
		return
	}
	text := func(i int) string {
		if i < 0 {
			return ""
		}
		s, _ := row[i].(string)
		return s
	}
	for i, c := range r.fields {
		r.vals[i] = analysis.Number(row[c])
	}
	r.series(text(r.step), text(r.node)).add(analysis.Number(row[r.t]), r.vals)
}

// FloatRow records one row of analysis.FloatRowSource: texts, then the
// other columns' values (NaN for NULL).
func (r *LevelRecorder) FloatRow(texts []string, values []float64) {
	k := len(texts)
	if k+len(values) != r.width || r.step >= k || r.node >= k || r.t < k || math.IsNaN(values[r.t-k]) {
		return // not a layout this recorder reads
	}
	node := ""
	if r.node >= 0 {
		node = texts[r.node]
	}
	for i, c := range r.fields {
		v := math.NaN()
		if c >= k {
			v = values[c-k]
		}
		r.vals[i] = v
	}
	r.series(texts[r.step], node).add(values[r.t-k], r.vals)
}

// series is the recorded series of (step, node).
func (r *LevelRecorder) series(step, node string) *recorded {
	k := [2]string{step, node}
	se := r.last
	if se == nil || se.key != k {
		var ok bool
		if se, ok = r.by[k]; !ok {
			se = &recorded{key: k}
			if sr, ok := r.announced[k]; ok {
				se.stream = newStreamed(sr, len(r.fields))
			} else {
				se.cols = make([]chunked, len(r.fields))
			}
			r.by[k] = se
			r.order = append(r.order, se)
		}
		r.last = se
	}
	return se
}

// Levels encodes the recorded table's levels. An error says they could
// not be recorded: a series broke its announced range (Expect), and its
// rows, not kept, cannot be leveled otherwise. No levels must then be
// stored for the table: the stored levels list the table's series, so one
// left out would be taken for a series the table lacks; without stored
// levels the first series request builds them from the table instead.
func (r *LevelRecorder) Levels() ([]byte, error) {
	ses := make([]*series, 0, len(r.order))
	for _, rec := range r.order {
		se := &series{key: rec.key, Cols: map[string][]float64{}, count: -1}
		if rec.stream != nil {
			if err := rec.stream.level(se, r.names); err != nil {
				return nil, fmt.Errorf("levels: series (step %q, node %q): %w", rec.key[0], rec.key[1], err)
			}
			ses = append(ses, se)
			continue
		}
		if !rec.unsorted && rec.t.n > levelMinRows {
			rec.level(se, r.names) // the rows stay in their chunks: no copy of a big series
			ses = append(ses, se)
			continue
		}
		se.T = rec.t.flat()
		for i, n := range r.names {
			if c := rec.cols[i].flat(); hasValue(c) {
				se.Cols[n] = c
			}
		}
		se.finish(true)
		if se.LT != nil { // the level is kept, the rows are not
			se.T, se.Cols = nil, nil
		}
		ses = append(ses, se)
	}
	r.order, r.by, r.last = nil, nil, nil
	return encodeLevels(ses), nil
}

// level computes a sorted series' M4 level (what finish computes from the
// whole series) chunk by chunk: the M4 picks of each chunk on the series'
// bucket grid, then M4 over those picks. A bucket's first, last, minimum
// and maximum rows over the whole series are among its picks in the chunks
// that hold them, and the picks keep the rows' order, so ties resolve to
// the same rows.
func (rec *recorded) level(se *series, names []string) {
	var used []int
	for i := range names {
		for _, c := range rec.cols[i].c {
			if hasValue(c) {
				used = append(used, i)
				break
			}
		}
	}
	from, to := rec.t.c[0][0], rec.t.last()
	var idx []int32
	var ts []float64
	vals := make([][]float64, len(used))
	chunk := make([][]float64, len(used))
	off := int32(0)
	for j, tc := range rec.t.c {
		for i, u := range used {
			chunk[i] = rec.cols[u].c[j]
		}
		for _, p := range M4(tc, chunk, from, to, levelBuckets, 0, len(tc), nil) {
			idx, ts = append(idx, off+p), append(ts, tc[p])
			for i := range chunk {
				vals[i] = append(vals[i], chunk[i][p])
			}
		}
		off += int32(len(tc))
	}
	picks := M4(ts, vals, from, to, levelBuckets, 0, len(ts), nil)
	se.N, se.Cols = rec.t.n, nil
	se.LIdx = make([]int32, len(picks))
	se.LT = make([]float64, len(picks))
	se.LCols = map[string][]float64{}
	for i, u := range used {
		se.LCols[names[u]] = make([]float64, len(picks))
		for k, p := range picks {
			se.LCols[names[u]][k] = vals[i][p]
		}
	}
	for k, p := range picks {
		se.LIdx[k], se.LT[k] = idx[p], ts[p]
	}
}

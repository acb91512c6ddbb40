package results

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchwrap/backend/shared/apperr"
)

// SeriesFields maps the names a series request uses to the corrected
// table's columns.
var SeriesFields = map[string]string{
	"power":  "power_w",
	"energy": "energy_j",
	"cpu":    "cpu_util_norm_pct",
	"gpu":    "gpu_power_w",
	"rss":    "rss_mib",
	// Only compat tables priced by ANALYZE_PRICE have a per-row price,
	// and series need corrected tables: price is null until the
	// corrected table gets one.
	"price": "Price_EUR_per_MWh",
}

// seriesFieldNames are SeriesFields' names, sorted: every load reads all
// of them, so a series' level does not depend on what was asked first.
var seriesFieldNames = func() []string {
	out := make([]string, 0, len(SeriesFields))
	for f := range SeriesFields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}()

// levelBuckets is the resolution of the M4 level of each series: requests
// over many more rows than this read the level's rows only, so their cost
// does not grow with the job. Series of at most levelMinRows rows have no
// level (they are small enough to read whole).
const (
	levelBuckets = 4096
	levelMinRows = 16 * levelBuckets
)

// series is one (step, node) of a job: its full-resolution rows when
// loaded (T, Cols), and its M4 level when it has one (the level's rows
// gathered: LIdx their row numbers, LT and LCols their values). A series
// read from stored levels has no T: N says how many rows it has.
type series struct {
	key              [2]string   // step and node as the table has them
	cols             [][]float64 // while loading
	Step, Node, File string
	N                int
	T                []float64            // epoch seconds, sorted; nil when not loaded
	Cols             map[string][]float64 // by field name; NaN for NULL; a field without any value is absent
	LIdx             []int32
	LT               []float64
	LCols            map[string][]float64
	// count is the full-resolution rows in the request's range when
	// counted without loading them; -1 when not counted.
	count int
}

// jobSeries is a job's series.
type jobSeries struct {
	series  []*series
	skipped []string // files without a time axis (compat tables, skips)
	bytes   int64
}

func (d *jobSeries) add(ses []*series) {
	for _, se := range ses {
		d.bytes += se.size()
	}
	d.series = append(d.series, ses...)
}

// SeriesCache keeps jobs' full-resolution series in memory, least
// recently used out first, within a byte budget.
type SeriesCache struct {
	mu      sync.Mutex
	budget  int64
	used    int64
	order   *list.List // front: most recent
	entries map[string]*list.Element
	loading map[string]*sync.Mutex
}

type cacheEntry struct {
	key  string
	data *jobSeries
}

// NewSeriesCache returns a cache of at most mb megabytes.
func NewSeriesCache(mb int) *SeriesCache {
	return &SeriesCache{budget: int64(mb) << 20, order: list.New(), entries: map[string]*list.Element{}, loading: map[string]*sync.Mutex{}}
}

func (c *SeriesCache) get(key string) *jobSeries {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).data
	}
	return nil
}

func (c *SeriesCache) put(key string, d *jobSeries) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.used -= e.Value.(*cacheEntry).data.bytes
		c.order.Remove(e)
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key, d})
	c.used += d.bytes
	for c.used > c.budget && c.order.Len() > 1 {
		e := c.order.Back()
		ce := e.Value.(*cacheEntry)
		c.order.Remove(e)
		delete(c.entries, ce.key)
		c.used -= ce.data.bytes
	}
}

// lock serialises loads of one key, so concurrent first reads of a job
// read it once.
func (c *SeriesCache) lock(key string) func() {
	c.mu.Lock()
	m, ok := c.loading[key]
	if !ok {
		m = &sync.Mutex{}
		c.loading[key] = m
	}
	c.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		c.mu.Lock()
		delete(c.loading, key)
		c.mu.Unlock()
	}
}

// SeriesQuery is a series request.
type SeriesQuery struct {
	Username, Job string
	Fields        []string // names of SeriesFields
	Node, Step    string   // "" for all
	Points        int      // per series
	From, To      *float64 // epoch seconds
}

// Column is a column of numbers; NaN is written as null.
type Column []float64

func (c Column) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(c)*12+2)
	b = append(b, '[')
	for i, v := range c {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// SeriesOut is one (step, node) series of a reply, columnar.
type SeriesOut struct {
	Step    string            `json:"step"`
	Node    string            `json:"node"`
	File    string            `json:"file"`
	Rows    int               `json:"rows"` // full-resolution rows in [from, to]
	T       Column            `json:"t"`
	Columns map[string]Column `json:"columns"`
}

// SeriesReply is a downsampled job series.
type SeriesReply struct {
	Job     string      `json:"job"`
	Fields  []string    `json:"fields"`
	Points  int         `json:"points"`
	Method  string      `json:"method"`
	From    *float64    `json:"from"`
	To      *float64    `json:"to"`
	Series  []SeriesOut `json:"series"`
	Skipped []string    `json:"skipped_files"`
}

// ParseFields reads fields=; empty is power.
func ParseFields(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return []string{"power"}, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if _, ok := SeriesFields[f]; !ok {
			return nil, apperr.New(apperr.BadRequest, fmt.Sprintf("Unknown field %q; fields are power, energy, cpu, gpu, rss, price.", f))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// Series answers a series request. A job's full-resolution series are
// kept in memory once loaded; until then (the first open of a job) the
// request is answered from the levels stored when the analysis finished
// (levels.go), which give the same rows, and a range the levels cannot
// answer reads only its rows from the table.
func (s *Service) Series(ctx context.Context, q SeriesQuery) (SeriesReply, error) {
	files, err := s.jobFiles(ctx, q.Username, q.Job)
	if err != nil {
		return SeriesReply{}, err
	}
	if q.Points < 2 || q.Points > s.Config.MaxPoints {
		return SeriesReply{}, apperr.New(apperr.BadRequest, fmt.Sprintf("points must be between 2 and %d.", s.Config.MaxPoints))
	}
	if q.From != nil && q.To != nil && !(*q.From < *q.To) {
		return SeriesReply{}, apperr.New(apperr.BadRequest, "from must be before to.")
	}
	key := q.Username + "\x00" + q.Job + "\x00" + filesVersion(files)
	data := s.Cache.get(key)
	if data == nil {
		if data, err = s.levels(ctx, key, files); err != nil {
			return SeriesReply{}, err
		}
	}
	rep, missing := answer(q, data)
	if len(missing) == 0 {
		return rep, nil
	}
	if q.From == nil && q.To == nil {
		// The whole job at more detail than its levels hold: load it.
		if data, err = s.load(ctx, key, files); err != nil {
			return SeriesReply{}, err
		}
		rep, _ = answer(q, data)
		return rep, nil
	}
	// A zoom: count, and when needed read, the range's rows of the series
	// the levels cannot answer; then the whole job is loaded in the
	// background for the next zooms (after this one's reads, which it
	// would slow down).
	defer s.loadLater(key, files)
	if err := s.readRange(ctx, files, missing, *rep.From, *rep.To, q.Points, BucketsFor(q.Points, len(q.Fields))); err != nil {
		return SeriesReply{}, err
	}
	rep, missing = answer(q, data.with(missing))
	if len(missing) > 0 {
		return SeriesReply{}, apperr.Wrap(apperr.Internal, "Results temporarily unavailable.", fmt.Errorf("series: %d series unanswered after reading their range", len(missing)))
	}
	return rep, nil
}

// answer builds the reply from data. The series it cannot answer without
// rows it does not hold are returned (as copies to fill) instead.
func answer(q SeriesQuery, data *jobSeries) (SeriesReply, map[*series]*series) {
	rep := SeriesReply{Job: q.Job, Fields: q.Fields, Points: q.Points, Method: "m4", Series: []SeriesOut{}, Skipped: data.skipped}
	if rep.Skipped == nil {
		rep.Skipped = []string{}
	}
	// The range: as asked, else the selected series' extent.
	var from, to float64 = math.Inf(1), math.Inf(-1)
	var chosen []*series
	for _, se := range data.series {
		if (q.Node != "" && se.Node != q.Node) || (q.Step != "" && se.Step != q.Step) || se.N == 0 {
			continue
		}
		chosen = append(chosen, se)
		t0, t1 := se.extent()
		from, to = math.Min(from, t0), math.Max(to, t1)
	}
	if q.From != nil {
		from = *q.From
	}
	if q.To != nil {
		to = *q.To
	}
	if len(chosen) > 0 {
		rep.From, rep.To = &from, &to
	}
	var missing map[*series]*series
	buckets := BucketsFor(q.Points, len(q.Fields))
	for _, se := range chosen {
		out, ok := se.downsample(q.Fields, from, to, q.Points, buckets)
		if !ok {
			if missing == nil {
				missing = map[*series]*series{}
			}
			c := *se
			missing[se] = &c
			continue
		}
		rep.Series = append(rep.Series, out)
	}
	return rep, missing
}

// extent is the series' first and last time (a level holds both).
func (se *series) extent() (float64, float64) {
	if len(se.T) > 0 {
		return se.T[0], se.T[len(se.T)-1]
	}
	return se.LT[0], se.LT[len(se.LT)-1]
}

// downsample picks the series' rows in [from, to] for a reply: all of them
// when they fit in points; the M4 of the level's rows when the range holds
// many rows and enough of the level's; else the M4 of the rows. ok is
// false when that needs rows the series does not hold.
func (se *series) downsample(fields []string, from, to float64, points, buckets int) (SeriesOut, bool) {
	out := SeriesOut{Step: se.Step, Node: se.Node, File: se.File, Columns: map[string]Column{}}
	var lo, hi, n int
	switch t0, t1 := se.extent(); {
	case se.T != nil:
		lo = sort.SearchFloat64s(se.T, from)
		hi = sort.Search(len(se.T), func(i int) bool { return se.T[i] > to })
		n = max(0, hi-lo)
	case se.count >= 0:
		n = se.count
	case from <= t0 && to >= t1:
		n = se.N
	default:
		return out, false
	}
	out.Rows = n
	pick := func(t []float64, cols map[string][]float64, rows []int32) {
		out.T = make(Column, len(rows))
		for i, r := range rows {
			out.T[i] = t[r]
		}
		for _, f := range fields {
			c := make(Column, len(rows))
			if col, ok := cols[f]; ok {
				for k, r := range rows {
					c[k] = col[r]
				}
			} else {
				for k := range c {
					c[k] = math.NaN()
				}
			}
			out.Columns[f] = c
		}
	}
	columns := func(cols map[string][]float64, length int) [][]float64 {
		out := make([][]float64, len(fields))
		for i, f := range fields {
			if out[i] = cols[f]; out[i] == nil {
				out[i] = nanColumn(length)
			}
		}
		return out
	}
	if n > points && n > levelMinRows && len(se.LT) > 0 {
		// Many rows: the level's rows in range are enough when they
		// outnumber the buckets well.
		a := sort.SearchFloat64s(se.LT, from)
		b := sort.Search(len(se.LT), func(i int) bool { return se.LT[i] > to })
		if b-a >= 4*buckets {
			pick(se.LT, se.LCols, M4(se.LT, columns(se.LCols, len(se.LT)), from, to, buckets, a, b, nil))
			return out, true
		}
	}
	if se.T == nil {
		return out, false
	}
	var rows []int32
	if n <= points {
		for i := lo; i < hi; i++ {
			rows = append(rows, int32(i))
		}
	} else {
		rows = M4(se.T, columns(se.Cols, len(se.T)), from, to, buckets, lo, hi, nil)
	}
	pick(se.T, se.Cols, rows)
	return out, true
}

// nanColumns are shared columns of NaN for fields a series lacks.
var nanColumns sync.Map

func nanColumn(n int) []float64 {
	if c, ok := nanColumns.Load(n); ok {
		return c.([]float64)
	}
	c := make([]float64, n)
	for i := range c {
		c[i] = math.NaN()
	}
	if n <= 1<<16 {
		nanColumns.Store(n, c)
	}
	return c
}

// with returns data with some series replaced.
func (d *jobSeries) with(repl map[*series]*series) *jobSeries {
	c := *d
	c.series = make([]*series, len(d.series))
	for i, se := range d.series {
		if r, ok := repl[se]; ok {
			se = r
		}
		c.series[i] = se
	}
	return &c
}

// filesVersion identifies the state of a job's files: their latest runs.
func filesVersion(files []File) string {
	var b strings.Builder
	for _, f := range files {
		b.WriteString(strconv.FormatInt(f.RunID, 10))
		b.WriteByte(',')
	}
	return b.String()
}

// load returns the job's full-resolution series, reading the job once.
func (s *Service) load(ctx context.Context, key string, files []File) (*jobSeries, error) {
	if d := s.Cache.get(key); d != nil {
		return d, nil
	}
	unlock := s.Cache.lock(key)
	defer unlock()
	if d := s.Cache.get(key); d != nil {
		return d, nil
	}
	d := &jobSeries{}
	for _, f := range files {
		if !seriesTable(f) {
			d.skipped = append(d.skipped, f.Key)
			continue
		}
		ses, err := readSeries(ctx, s.Store, f, nil)
		if err != nil {
			return nil, err
		}
		d.add(ses)
	}
	sortSeries(d.series)
	s.Cache.put(key, d)
	return d, nil
}

// LoadSeries loads a job's full-resolution series into the cache, as
// the first zoom into a job does in the background: later requests are
// answered from memory.
func (s *Service) LoadSeries(ctx context.Context, username, job string) error {
	files, err := s.jobFiles(ctx, username, job)
	if err != nil {
		return err
	}
	_, err = s.load(ctx, username+"\x00"+job+"\x00"+filesVersion(files), files)
	return err
}

// loadLater loads the job in the background (once at a time).
func (s *Service) loadLater(key string, files []File) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if _, err := s.load(ctx, key, files); err != nil {
			slog.Warn("results: loading series", "error", err)
		}
	}()
}

// seriesTable reports whether a file's table has series (a time axis).
func seriesTable(f File) bool {
	return f.Table != "" && contains(f.Columns, "epoch_s") && contains(f.Columns, "step")
}

func sortSeries(ss []*series) {
	sort.SliceStable(ss, func(a, b int) bool {
		x, y := ss[a], ss[b]
		if x.Step != y.Step {
			return stepLess(x.Step, y.Step)
		}
		return x.Node < y.Node
	})
}

func (se *series) size() int64 {
	return int64(len(se.T)*(1+len(se.Cols))+len(se.LT)*(1+len(se.LCols)))*8 + int64(len(se.LIdx))*4
}

// readSeries reads the series of one analysed table, whole or the rows in a
// range (then without levels).
func readSeries(ctx context.Context, st Store, f File, rng *Range) ([]*series, error) {
	cols := make([]string, len(seriesFieldNames))
	for i, n := range seriesFieldNames {
		cols[i] = SeriesFields[n]
	}
	by := map[[2]string]*series{}
	var order []*series
	var last *series
	err := st.ScanSeries(ctx, f.Schema, f.Table, cols, f.Columns, rng, func(step, node string, t float64, vals []float64) error {
		// Rows come grouped by series: the last one is usually it.
		se := last
		if se == nil || se.key != [2]string{step, node} {
			k := [2]string{step, node}
			var ok bool
			if se, ok = by[k]; !ok {
				se = f.newSeries(step, node)
				se.cols = make([][]float64, len(cols))
				by[k] = se
				order = append(order, se)
			}
			last = se
		}
		se.T = append(se.T, t)
		for i, v := range vals {
			se.cols[i] = append(se.cols[i], v)
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	for _, se := range order {
		for i, n := range seriesFieldNames {
			if hasValue(se.cols[i]) {
				se.Cols[n] = se.cols[i]
			}
		}
		se.cols = nil
		se.finish(rng == nil)
	}
	return order, nil
}

// newSeries is a series of the file's table; a node-step file's step is
// the one of its name.
func (f File) newSeries(step, node string) *series {
	se := &series{key: [2]string{step, node}, Step: step, Node: node, File: f.Key, Cols: map[string][]float64{}, count: -1}
	if f.Name.Form == FormNodeStep {
		se.Step = f.Name.Step
	}
	return se
}

// readRange fills the copies in missing with their rows in [from, to]:
// the count only when the level then answers, else the rows.
func (s *Service) readRange(ctx context.Context, files []File, missing map[*series]*series, from, to float64, points, buckets int) error {
	rng := &Range{From: from, To: to}
	for _, f := range files {
		var mine []*series
		for _, c := range missing {
			if c.File == f.Key {
				mine = append(mine, c)
			}
		}
		if len(mine) == 0 {
			continue
		}
		counts, err := s.Store.CountSeries(ctx, f.Schema, f.Table, f.Columns, *rng)
		if err != nil {
			return apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
		}
		var rows bool
		for _, c := range mine {
			c.count = counts[c.key]
			// The level answers when the range holds enough of it.
			a := sort.SearchFloat64s(c.LT, from)
			b := sort.Search(len(c.LT), func(i int) bool { return c.LT[i] > to })
			rows = rows || !(c.count > points && c.count > levelMinRows && b-a >= 4*buckets)
		}
		if !rows {
			continue
		}
		ses, err := readSeries(ctx, s.Store, f, rng)
		if err != nil {
			return err
		}
		for _, c := range mine {
			c.count = -1
			c.T, c.Cols = []float64{}, map[string][]float64{}
			for _, se := range ses {
				if se.key == c.key {
					c.T, c.Cols = se.T, se.Cols
				}
			}
		}
	}
	return nil
}

func hasValue(c []float64) bool {
	for _, v := range c {
		if !math.IsNaN(v) {
			return true
		}
	}
	return false
}

// finish sorts a series by time (tables are written in order; this is a
// guard) and, for a whole series of many rows, computes its M4 level over
// every field.
func (se *series) finish(level bool) {
	se.N = len(se.T)
	if !sort.Float64sAreSorted(se.T) {
		idx := make([]int, len(se.T))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return se.T[idx[a]] < se.T[idx[b]] })
		permute := func(x []float64) []float64 {
			out := make([]float64, len(x))
			for i, j := range idx {
				out[i] = x[j]
			}
			return out
		}
		se.T = permute(se.T)
		for n, c := range se.Cols {
			se.Cols[n] = permute(c)
		}
	}
	if !level || se.N <= levelMinRows {
		return
	}
	names := make([]string, 0, len(se.Cols))
	for _, n := range seriesFieldNames {
		if se.Cols[n] != nil {
			names = append(names, n)
		}
	}
	cols := make([][]float64, len(names))
	for i, n := range names {
		cols[i] = se.Cols[n]
	}
	se.LIdx = M4(se.T, cols, se.T[0], se.T[se.N-1], levelBuckets, 0, se.N, nil)
	se.LT = make([]float64, len(se.LIdx))
	for i, r := range se.LIdx {
		se.LT[i] = se.T[r]
	}
	se.LCols = map[string][]float64{}
	for _, n := range names {
		c := make([]float64, len(se.LIdx))
		for i, r := range se.LIdx {
			c[i] = se.Cols[n][r]
		}
		se.LCols[n] = c
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

package results

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

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

// DefaultSeriesFields are loaded with any request, so the usual requests
// share one cached read.
var DefaultSeriesFields = []string{"power", "energy", "cpu"}

// levelBuckets is the resolution of the precomputed M4 level of each
// series: requests over many more rows than this read the level's rows
// only, so their cost does not grow with the job.
const levelBuckets = 4096

// series is one (step, node) of a job at full resolution.
type series struct {
	key              [2]string   // step and node as the table has them
	cols             [][]float64 // while loading
	Step, Node, File string
	T                []float64            // epoch seconds, sorted
	Cols             map[string][]float64 // by field name; NaN for NULL
	level            []int32              // M4 rows of every loaded field at levelBuckets
}

// jobSeries is a job's loaded series.
type jobSeries struct {
	fields  map[string]bool
	series  []*series
	skipped []string // files without a time axis (compat tables, skips)
	bytes   int64
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

// Series answers a series request from the cache, loading the job once.
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
	data, err := s.load(ctx, q, files)
	if err != nil {
		return SeriesReply{}, err
	}
	rep := SeriesReply{Job: q.Job, Fields: q.Fields, Points: q.Points, Method: "m4", Series: []SeriesOut{}, Skipped: data.skipped}
	if rep.Skipped == nil {
		rep.Skipped = []string{}
	}
	// The range: as asked, else the selected series' extent.
	var from, to float64 = math.Inf(1), math.Inf(-1)
	var chosen []*series
	for _, se := range data.series {
		if (q.Node != "" && se.Node != q.Node) || (q.Step != "" && se.Step != q.Step) || len(se.T) == 0 {
			continue
		}
		chosen = append(chosen, se)
		from, to = math.Min(from, se.T[0]), math.Max(to, se.T[len(se.T)-1])
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
	for _, se := range chosen {
		cols := make([][]float64, len(q.Fields))
		for i, f := range q.Fields {
			cols[i] = se.Cols[f]
		}
		lo := sort.SearchFloat64s(se.T, from)
		hi := sort.Search(len(se.T), func(i int) bool { return se.T[i] > to })
		out := SeriesOut{Step: se.Step, Node: se.Node, File: se.File, Rows: max(0, hi-lo), Columns: map[string]Column{}}
		var rows []int32
		buckets := BucketsFor(q.Points, len(q.Fields))
		switch {
		case hi-lo <= q.Points:
			for i := lo; i < hi; i++ {
				rows = append(rows, int32(i))
			}
		case hi-lo > 16*levelBuckets:
			// Many rows: the precomputed level's rows in range are
			// enough when they outnumber the buckets well.
			a := sort.Search(len(se.level), func(i int) bool { return int(se.level[i]) >= lo })
			b := sort.Search(len(se.level), func(i int) bool { return int(se.level[i]) >= hi })
			if b-a >= 4*buckets {
				rows = M4(se.T, cols, from, to, buckets, 0, 0, se.level[a:b])
				break
			}
			fallthrough
		default:
			rows = M4(se.T, cols, from, to, buckets, lo, hi, nil)
		}
		out.T = make(Column, len(rows))
		for i, r := range rows {
			out.T[i] = se.T[r]
		}
		for i, f := range q.Fields {
			c := make(Column, len(rows))
			for k, r := range rows {
				c[k] = cols[i][r]
			}
			out.Columns[f] = c
		}
		rep.Series = append(rep.Series, out)
	}
	return rep, nil
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

func (s *Service) load(ctx context.Context, q SeriesQuery, files []File) (*jobSeries, error) {
	key := q.Username + "\x00" + q.Job + "\x00" + filesVersion(files)
	covers := func(d *jobSeries) bool {
		if d == nil {
			return false
		}
		for _, f := range q.Fields {
			if !d.fields[f] {
				return false
			}
		}
		return true
	}
	if d := s.Cache.get(key); covers(d) {
		return d, nil
	}
	unlock := s.Cache.lock(key)
	defer unlock()
	old := s.Cache.get(key)
	if covers(old) {
		return old, nil
	}
	want := map[string]bool{}
	for _, f := range DefaultSeriesFields {
		want[f] = true
	}
	for _, f := range q.Fields {
		want[f] = true
	}
	if old != nil {
		for f := range old.fields {
			want[f] = true
		}
	}
	d, err := s.read(ctx, files, want)
	if err != nil {
		return nil, err
	}
	s.Cache.put(key, d)
	return d, nil
}

// read loads the series of a job's analysed tables.
func (s *Service) read(ctx context.Context, files []File, fields map[string]bool) (*jobSeries, error) {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	cols := make([]string, len(names))
	for i, f := range names {
		cols[i] = SeriesFields[f]
	}
	d := &jobSeries{fields: fields}
	for _, f := range files {
		if f.Table == "" || !contains(f.Columns, "epoch_s") || !contains(f.Columns, "step") {
			d.skipped = append(d.skipped, f.Key)
			continue
		}
		by := map[[2]string]*series{}
		var order []*series
		var last *series
		err := s.Store.ScanSeries(ctx, f.Schema, f.Table, cols, f.Columns, func(step, node string, t float64, vals []float64) error {
			// Rows come grouped by series: the last one is usually it.
			se := last
			if se == nil || se.key != [2]string{step, node} {
				k := [2]string{step, node}
				var ok bool
				if se, ok = by[k]; !ok {
					se = &series{key: k, Step: step, Node: node, File: f.Key, Cols: map[string][]float64{}}
					if f.Name.Form == FormNodeStep {
						se.Step = f.Name.Step
					}
					se.cols = make([][]float64, len(names))
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
			for i, n := range names {
				se.Cols[n] = se.cols[i]
			}
			se.cols = nil
		}
		for _, se := range order {
			se.finish(names)
			d.bytes += int64(len(se.T)*(1+len(names)))*8 + int64(len(se.level))*4
		}
		d.series = append(d.series, order...)
	}
	sort.SliceStable(d.series, func(a, b int) bool {
		x, y := d.series[a], d.series[b]
		if x.Step != y.Step {
			return stepLess(x.Step, y.Step)
		}
		return x.Node < y.Node
	})
	return d, nil
}

// finish sorts a series by time (tables are written in order; this is a
// guard) and precomputes its M4 level.
func (se *series) finish(names []string) {
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
	if len(se.T) > 16*levelBuckets {
		cols := make([][]float64, len(names))
		for i, n := range names {
			cols[i] = se.Cols[n]
		}
		se.level = M4(se.T, cols, se.T[0], se.T[len(se.T)-1], levelBuckets, 0, len(se.T), nil)
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

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	}
	return math.NaN()
}

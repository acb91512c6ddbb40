package results

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"

	"github.com/benchwrap/backend/shared/apperr"
)

// Unfiled is a catalog run not yet filed under a job.
type Unfiled struct {
	RunID    int64
	Bucket   string
	Key      string
	Username string
	JobID    string // set once filed
}

// Sort is a job-list order: a figure, ascending or descending.
type Sort struct {
	Field string
	Desc  bool
}

// Cursor is where a page of jobs continues: after this sort value and job.
type Cursor struct {
	Value *float64 `json:"v"` // nil: the job had no value (-Infinity)
	Job   string   `json:"j"`
}

// JobQuery selects a page of a user's jobs.
type JobQuery struct {
	Username     string
	Benchmark    string
	Since, Until *float64 // epoch seconds of the job's start
	Sort         Sort
	After        *Cursor
	Limit        int
}

// Store is where files, jobs and tables are kept (postgres.Results).
type Store interface {
	UnfiledRuns(ctx context.Context, username, bucket, key string) ([]Unfiled, error)
	AdvanceFiled(ctx context.Context, username string) error
	FileRun(ctx context.Context, u Unfiled, n Name, benchmark string) error
	JobFiles(ctx context.Context, username, job string) ([]File, error)
	SaveJob(ctx context.Context, username string, j Job, version int64) error
	Job(ctx context.Context, username, job string) (Job, bool, error)
	Jobs(ctx context.Context, q JobQuery) ([]Job, error)
	BenchmarkJobs(ctx context.Context, username, name string) ([]Job, error)
	ScanTable(ctx context.Context, schema, table string, columns, have []string, fn func(row []any) error) error
	// ScanSeries streams step, node, epoch_s and the named float columns
	// of a table's rows (those in rng when set) in the table's order.
	ScanSeries(ctx context.Context, schema, table string, columns, have []string, rng *Range, fn func(step, node string, t float64, vals []float64) error) error
	// CountSeries counts a table's rows in rng per (step, node).
	CountSeries(ctx context.Context, schema, table string, have []string, rng Range) (map[[2]string]int, error)
	// Levels returns the stored levels (of this version) of runs.
	Levels(ctx context.Context, runIDs []int64, version int) (map[int64][]byte, error)
	// BuildLevels returns a run's stored levels of this version, else
	// stores what build returns, one build of a run at a time.
	// build reads the table through the Store it is given.
	BuildLevels(ctx context.Context, runID int64, version int, build func(context.Context, Store) ([]byte, error)) ([]byte, error)
}

// Metadata reads the benchmark name the client stored with an object
// (x-amz-meta-benchmark-name); minio.Store implements it.
type Metadata interface {
	BenchmarkName(ctx context.Context, key string) (string, error)
}

// FileRuns files the unfiled runs (of one object when key is set, else of
// the user) under their jobs and updates those jobs' aggregates. meta may
// be nil (the benchmark name then stays empty). It returns the runs filed.
func FileRuns(ctx context.Context, st Store, meta Metadata, username, bucket, key string) ([]Unfiled, error) {
	runs, err := st.UnfiledRuns(ctx, username, bucket, key)
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	jobs := map[[2]string]bool{}
	for i, u := range runs {
		n := ParseName(u.Key, "")
		var bench string
		if meta != nil {
			if bench, err = meta.BenchmarkName(ctx, u.Key); err != nil {
				// The object may be gone; its job is still filed.
				slog.WarnContext(ctx, "results: benchmark name", "key", u.Key, "error", err)
			}
		}
		if err := st.FileRun(ctx, u, n, bench); err != nil {
			return nil, err
		}
		runs[i].JobID = n.JobID
		jobs[[2]string{u.Username, n.JobID}] = true
	}
	for k := range jobs {
		if err := Reaggregate(ctx, st, k[0], k[1]); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// Reaggregate recomputes and stores one job's aggregate.
func Reaggregate(ctx context.Context, st Store, username, job string) error {
	files, err := st.JobFiles(ctx, username, job)
	if err != nil {
		return err
	}
	var version int64
	for _, f := range files {
		version = max(version, f.RunID)
	}
	return st.SaveJob(ctx, username, Aggregate(job, files), version)
}

// AfterAnalysis is the analyzer's hook, called once an object's run is
// committed: it files the run under its job, updates the job's aggregate
// and writes the Parquet copies (fileRuns). A failure is only logged:
// reading a user's results files whatever is left (Service.sync). (The
// run's series levels are already stored: the sink records them,
// LevelRecorder.)
func AfterAnalysis(ctx context.Context, st Store, objects any, bucket, key string) {
	if err := fileRuns(ctx, st, objects, "", bucket, key); err != nil {
		slog.WarnContext(ctx, "results: after analysis", "key", key, "error", err)
	}
}

// fileRuns files the unfiled runs (FileRuns) and, when objects can store
// objects (minio.Store), writes their Parquet copies (ParquetKeys). The
// hook and a user's reads both file runs, whichever comes first; the one
// that files a run writes its copies, so a job is never listed while
// its copies are missing for good. A copy that fails is logged: the
// export endpoint serves the same data.
func fileRuns(ctx context.Context, st Store, objects any, username, bucket, key string) error {
	meta, _ := objects.(Metadata)
	runs, err := FileRuns(ctx, st, meta, username, bucket, key)
	if err != nil {
		return err
	}
	if w, ok := objects.(ObjectWriter); ok {
		for _, u := range runs {
			if err := PublishParquet(ctx, st, w, u); err != nil {
				slog.WarnContext(ctx, "results: parquet copy", "key", u.Key, "error", err)
			}
		}
	}
	return nil
}

// Service answers the results endpoints for one user at a time.
type Service struct {
	Store  Store
	Meta   Metadata
	Config Config
	Cache  *SeriesCache
}

// Config are the results settings.
type Config struct {
	// BaselineRuns is how many previous runs of a benchmark form a run's
	// baseline; MinBaseline the fewest that allow a verdict.
	BaselineRuns int `envconfig:"RESULTS_BASELINE_RUNS" default:"10"`
	MinBaseline  int `envconfig:"RESULTS_BASELINE_MIN" default:"5"`
	// Threshold is k in median ± k × MAD (scaled to a standard deviation).
	Threshold float64 `envconfig:"RESULTS_REGRESSION_K" default:"3"`
	// MinChange is the smallest relative change ever flagged, so a
	// baseline without noise does not flag rounding.
	MinChange float64 `envconfig:"RESULTS_REGRESSION_MIN_CHANGE" default:"0.05"`
	// SeriesCacheMB bounds the memory of cached full-resolution series.
	SeriesCacheMB int `envconfig:"RESULTS_SERIES_CACHE_MB" default:"256"`
	// MaxPoints bounds points= of a series request.
	MaxPoints int `envconfig:"RESULTS_MAX_POINTS" default:"20000"`
}

// ErrNotFound is the answer for a job that is not the caller's (or does
// not exist): the same 404 either way, so ids do not leak.
var ErrNotFound = apperr.New(apperr.NotFound, "Job not found.")

// sync files the user's runs the hook did not file (yet), with their
// Parquet copies.
func (s *Service) sync(ctx context.Context, username string) error {
	err := fileRuns(ctx, s.Store, s.Meta, username, "", "")
	if err == nil {
		err = s.Store.AdvanceFiled(ctx, username)
	}
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	return nil
}

// Page is a page of jobs.
type Page struct {
	Jobs []Job  `json:"jobs"`
	Next string `json:"next"` // cursor of the next page; "" at the end
}

// MaxJobsPage bounds limit=.
const MaxJobsPage = 500

// Jobs lists the user's jobs.
func (s *Service) Jobs(ctx context.Context, q JobQuery) (Page, error) {
	if err := s.sync(ctx, q.Username); err != nil {
		return Page{}, err
	}
	limit := q.Limit
	q.Limit++
	jobs, err := s.Store.Jobs(ctx, q)
	if err != nil {
		return Page{}, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	p := Page{Jobs: jobs}
	if len(jobs) > limit {
		p.Jobs = jobs[:limit]
		last := p.Jobs[limit-1]
		c := Cursor{Job: last.ID}
		if !math.IsInf(last.SortKey, 0) {
			c.Value = &last.SortKey
		}
		p.Next = EncodeCursor(c)
	}
	if p.Jobs == nil {
		p.Jobs = []Job{}
	}
	return p, nil
}

// JobDetail is one job with its steps, nodes and files.
type JobDetail struct {
	Job
	Steps      []Step      `json:"step_list"`
	Nodes      []Node      `json:"node_list"`
	FileList   []File      `json:"file_list"`
	Regression *Regression `json:"regression"`
}

// Job returns one of the user's jobs.
func (s *Service) Job(ctx context.Context, username, id string) (JobDetail, error) {
	if err := s.sync(ctx, username); err != nil {
		return JobDetail{}, err
	}
	j, ok, err := s.Store.Job(ctx, username, id)
	if err != nil {
		return JobDetail{}, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	if !ok {
		return JobDetail{}, ErrNotFound
	}
	files, err := s.Store.JobFiles(ctx, username, id)
	if err != nil {
		return JobDetail{}, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	d := JobDetail{Job: j, Steps: j.StepList, Nodes: j.NodeList, FileList: files}
	if d.Steps == nil {
		d.Steps = []Step{}
	}
	if d.Nodes == nil {
		d.Nodes = []Node{}
	}
	if j.Benchmark != "" {
		runs, err := s.Store.BenchmarkJobs(ctx, username, j.Benchmark)
		if err != nil {
			return JobDetail{}, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
		}
		for _, r := range s.Config.Regressions(runs) {
			if r.Job == id {
				d.Regression = &r
			}
		}
	}
	return d, nil
}

// Benchmarks summarises every benchmark of the user.
func (s *Service) Benchmarks(ctx context.Context, username string) ([]BenchmarkSummary, error) {
	if err := s.sync(ctx, username); err != nil {
		return nil, err
	}
	jobs, err := s.Store.BenchmarkJobs(ctx, username, "")
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	by := map[string][]Job{}
	var names []string
	for _, j := range jobs {
		if _, ok := by[j.Benchmark]; !ok {
			names = append(names, j.Benchmark)
		}
		by[j.Benchmark] = append(by[j.Benchmark], j)
	}
	sort.Strings(names)
	out := []BenchmarkSummary{}
	for _, n := range names {
		out = append(out, Summarise(n, by[n]))
	}
	return out, nil
}

// Benchmark returns one benchmark with its runs and their regression flags.
func (s *Service) Benchmark(ctx context.Context, username, name string) (BenchmarkDetail, error) {
	if err := s.sync(ctx, username); err != nil {
		return BenchmarkDetail{}, err
	}
	jobs, err := s.Store.BenchmarkJobs(ctx, username, name)
	if err != nil {
		return BenchmarkDetail{}, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	if len(jobs) == 0 {
		return BenchmarkDetail{}, apperr.New(apperr.NotFound, "Benchmark not found.")
	}
	return BenchmarkDetail{BenchmarkSummary: Summarise(name, jobs), Runs: s.Config.Regressions(jobs)}, nil
}

// Comparison is jobs side by side with their ratios to the first.
type Comparison struct {
	Jobs   []Job                 `json:"jobs"`
	Ratios []map[string]*float64 `json:"ratios"`
}

// CompareFields are the figures compared.
var CompareFields = []string{"energy_j", "wall_time_s", "average_power_w", "peak_power_w", "edp", "cost_eur", "co2_kg"}

// MaxCompare bounds jobs= of a comparison.
const MaxCompare = 20

// Compare puts jobs side by side. Any job that is not the user's is a 404.
func (s *Service) Compare(ctx context.Context, username string, ids []string) (Comparison, error) {
	if len(ids) == 0 || len(ids) > MaxCompare {
		return Comparison{}, apperr.New(apperr.BadRequest, fmt.Sprintf("jobs must name 1 to %d jobs, comma-separated.", MaxCompare))
	}
	if err := s.sync(ctx, username); err != nil {
		return Comparison{}, err
	}
	c := Comparison{}
	for _, id := range ids {
		j, ok, err := s.Store.Job(ctx, username, strings.TrimSpace(id))
		if err != nil {
			return Comparison{}, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
		}
		if !ok {
			return Comparison{}, ErrNotFound
		}
		c.Jobs = append(c.Jobs, j)
	}
	for _, j := range c.Jobs {
		r := map[string]*float64{}
		for _, f := range CompareFields {
			r[f] = ratio(j.Value(f), c.Jobs[0].Value(f))
		}
		c.Ratios = append(c.Ratios, r)
	}
	return c, nil
}

func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 {
		return nil
	}
	v := *a / *b
	return &v
}

// jobFiles returns the files of one of the user's jobs, or ErrNotFound.
func (s *Service) jobFiles(ctx context.Context, username, id string) ([]File, error) {
	if err := s.sync(ctx, username); err != nil {
		return nil, err
	}
	files, err := s.Store.JobFiles(ctx, username, id)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	if len(files) == 0 {
		return nil, ErrNotFound
	}
	return files, nil
}

// SortFields are the figures a job list sorts by.
var SortFields = []string{"start", "end", "energy_j", "wall_time_s", "average_power_w", "peak_power_w", "edp", "cost_eur", "co2_kg"}

// Sortable reports whether a job list can sort by field.
func Sortable(field string) bool {
	for _, f := range SortFields {
		if f == field {
			return true
		}
	}
	return false
}

// Package duckdb is the adapter to an embedded, in-memory DuckDB database:
// the Engine the analysis pipelines run on (one run at a time, under the
// engine's lock), its native connection (chunk appends and streaming
// scans), the HDF5 whole-file checks both pipelines share, and the CSV
// writer. The pipelines are in the sub-packages compat (the original's
// semantics, docs/compat-pipeline.md) and corrected; the DuckDB-file
// result store and price cache are in store. The finished table of a run
// is a view in the engine's database until the next run, computed as
// writers stream it out with ScanRows (analysis.RowSource) or WriteCSV.
package duckdb

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5"
)

// Defaults of Options.
const (
	DefaultMemoryLimit = "1GB"
	DefaultMaxRows     = 100_000_000
	DefaultMaxBytes    = 2 << 30
)

// Options configures an Engine. Zero fields take the defaults.
type Options struct {
	// MemoryLimit is DuckDB's memory_limit ("1GB", "512MB"). Above it
	// DuckDB spills sorts and joins to TempDir.
	MemoryLimit string
	// Threads is DuckDB's worker thread count (default: GOMAXPROCS).
	Threads int
	// TempDir is where DuckDB spills; default a directory the engine
	// creates under os.TempDir and removes on Close.
	TempDir string
	// MaxRows bounds the rows of a result table. The join multiplies rows
	// with duplicate times, so a small file can ask for a huge table; a
	// file above the bound is skipped as too_large before it is built.
	MaxRows int64
	// MaxBytes bounds the data a file's datasets declare together, as
	// the reader stores it (8 bytes per value, decompressed): a larger
	// file, or one with a dataset of more than MaxRows rows, is skipped
	// as too_large before anything is read. It is also the reader's
	// budget of loaded data when Reader.MaxBytes is not set.
	MaxBytes int64
	// Reader bounds what the HDF5 reader loads (rows, bytes, objects).
	Reader hdf5.Options
	// Trace, if set, is called after every SQL statement of a pipeline
	// that creates a table or view, with the statement and its duration
	// (for profiling).
	Trace func(stmt string, took time.Duration)
}

// Engine owns one in-memory DuckDB database and one connection to it. It
// runs one pipeline at a time (calls are serialised) and keeps the table
// of the last successful run until the next run or Close.
type Engine struct {
	opt     Options
	tempDir string // created by the engine, removed on Close
	db      *DB

	mu      sync.Mutex
	result  *Table   // the last table built, nil if none
	scratch []string // tables the result view reads
}

// Table is a finished table in the database: the view ResultTable over
// the run's intermediate tables, computed as it is read.
type Table struct {
	Name    string // DuckDB view (or table) name
	Columns []analysis.Column
	Rows    int64
	// Ordered is set when the scan order is the table's order; otherwise
	// the column HiddenPos holds each row's position and ScanRows orders
	// the rows by it.
	Ordered bool
	// Scan, when set, produces the rows in Go, in order (the table is held
	// by the pipeline, not in DuckDB): ScanRows calls it instead of
	// querying Name. Values as in ScanRows.
	Scan func(ctx context.Context, fn func(row []any) error) error
	// ScanFloats, when set, produces the same rows unboxed
	// (analysis.FloatRowSource).
	ScanFloats func(ctx context.Context, fn func(texts []string, values []float64) error) error
	// Ranges, when set, gives the table's series as a scan then produces
	// them (analysis.SeriesRangeSource: contiguous and sorted by epoch_s).
	Ranges func() []analysis.SeriesRange
}

// ResultTable is the DuckDB name of the finished table, a view. The full
// PostgreSQL name (job_<label>) is in the Result; it may be long or
// contain characters DuckDB folds, so it is not used here. Its rows come
// in no guaranteed order; each carries its position in the column
// __bw_pos, by which ScanRows orders them.
const ResultTable = "compat_result"

// HiddenPos is the result's extra column: each row's position, by which
// ScanRows orders the rows (it is not one of the table's columns).
const HiddenPos = "__bw_pos"

// dropResult drops the last result and its tables.
func (e *Engine) dropResult(ctx context.Context) error {
	e.result = nil
	for _, kind := range []string{"VIEW", "TABLE"} {
		// The other kind of object answers with a catalog error.
		if err := e.exec(ctx, "DROP "+kind+" IF EXISTS "+ResultTable); err != nil && !isCatalogError(err) {
			return err
		}
	}
	for _, t := range e.scratch {
		if err := e.exec(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return err
		}
	}
	e.scratch = nil
	return nil
}

// New opens an engine.
func New(opt Options) (*Engine, error) {
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = DefaultMemoryLimit
	}
	if opt.Threads <= 0 {
		opt.Threads = runtime.GOMAXPROCS(0)
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.Reader.MaxBytes <= 0 {
		opt.Reader.MaxBytes = opt.MaxBytes
	}
	e := &Engine{opt: opt}
	if opt.TempDir == "" {
		dir, err := os.MkdirTemp("", "benchwrap-duckdb-")
		if err != nil {
			return nil, fmt.Errorf("duckdb: spill directory: %w", err)
		}
		e.tempDir, opt.TempDir = dir, dir
	}
	// No extension may be installed or loaded: there is no network, and
	// the pipeline needs none.
	settings := [][2]string{
		{"memory_limit", opt.MemoryLimit},
		{"threads", strconv.Itoa(opt.Threads)},
		{"temp_directory", opt.TempDir},
		{"autoinstall_known_extensions", "false"},
		{"autoload_known_extensions", "false"},
		{"preserve_insertion_order", "true"},
	}
	db, err := openNative(settings)
	if err != nil {
		e.removeTemp()
		return nil, fmt.Errorf("duckdb: open: %w", err)
	}
	e.db = db
	hdf5.Prestart(opt.Reader)
	return e, nil
}

// Close drops the database and the engine's spill directory.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db != nil {
		e.db.close()
		e.db = nil
	}
	e.result, e.scratch = nil, nil
	e.removeTemp()
	return nil
}

func (e *Engine) removeTemp() {
	if e.tempDir != "" {
		os.RemoveAll(e.tempDir)
		e.tempDir = ""
	}
}

func (e *Engine) exec(ctx context.Context, query string) error {
	return e.db.Exec(ctx, query)
}

// Quote makes a DuckDB identifier of any name.
func Quote(name string) string {
	b := make([]byte, 0, len(name)+2)
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		if name[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, name[i])
	}
	return string(append(b, '"'))
}

// SQLFloat writes a DOUBLE literal.
func SQLFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "CAST('NaN' AS DOUBLE)"
	case math.IsInf(v, 1):
		return "CAST('Infinity' AS DOUBLE)"
	case math.IsInf(v, -1):
		return "CAST('-Infinity' AS DOUBLE)"
	}
	return "CAST(" + strconv.FormatFloat(v, 'g', -1, 64) + " AS DOUBLE)"
}

// Package engine runs the analysis pipelines: one run at a time on an
// Engine (under its lock), the HDF5 whole-file checks both pipelines share
// (open.go), the finished table of the last run and its readers (ScanRows,
// ScanFloatRows, WriteCSV). The pipelines are in the sub-packages compat
// (the original's semantics, docs/compat-pipeline.md) and corrected. Both
// compute their table in Go from the loaded datasets, row by row as it is
// read: a finished table is never stored, only what it is computed from.
package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5"
)

// Defaults of Options.
const (
	DefaultMaxRows  = 100_000_000
	DefaultMaxBytes = 2 << 30
)

// Options configures an Engine. Zero fields take the defaults.
type Options struct {
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
}

// Engine runs one pipeline at a time (calls are serialised) and keeps the
// table of the last successful run until the next run or Close.
type Engine struct {
	opt Options

	mu     sync.Mutex
	closed bool
	result *Table // the last table built, nil if none
}

// Table is a finished table: its columns and rows, and the functions that
// compute its rows in order as they are read (the pipeline holds what
// they are computed from).
type Table struct {
	Columns []analysis.Column
	Rows    int64
	// Scan produces the rows in order; values as in ScanRows.
	Scan func(ctx context.Context, fn func(row []any) error) error
	// ScanFloats, when set, produces the same rows unboxed
	// (analysis.FloatRowSource).
	ScanFloats func(ctx context.Context, fn func(texts []string, values []float64) error) error
	// Ranges, when set, gives the table's series as a scan then produces
	// them (analysis.SeriesRangeSource: contiguous and sorted by epoch_s).
	Ranges func() []analysis.SeriesRange
	// Complete, when set, finishes what the pipeline leaves to the table's
	// first complete scan (corrected mode: the quality report's NULL
	// counts, which the COPY's scan counts instead of a pass of their
	// own). It scans only if no scan has completed yet.
	Complete func(ctx context.Context) error
}

// New opens an engine.
func New(opt Options) *Engine {
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.Reader.MaxBytes <= 0 {
		opt.Reader.MaxBytes = opt.MaxBytes
	}
	hdf5.Prestart(opt.Reader)
	return &Engine{opt: opt}
}

// Close drops the last table; the engine runs nothing after it.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed, e.result = true, nil
	return nil
}

var errClosed = errors.New("engine: closed")

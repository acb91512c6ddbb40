package engine

import (
	"context"
	"errors"
	"io"

	"github.com/benchwrap/backend/shared/analysis"
)

// ErrNoTable is returned by ScanRows and WriteCSV when the last run left
// no table (it was skipped, failed, or there was none yet).
var ErrNoTable = errors.New("engine: no result table")

var _ analysis.FloatRowSource = (*Engine)(nil)

// ScanRows streams the rows of the last result table in order
// (analysis.RowSource). fn gets a slice it must not keep; its values are,
// by column type: UInt16 uint16, UInt32 uint32, UInt64 uint64, Int64
// int64, Float32 float32, Float64 float64, Text string, and nil for NULL.
// An error from fn stops the scan and is returned. The table is computed
// as it is read, so each scan costs the computation.
func (e *Engine) ScanRows(ctx context.Context, fn func(row []any) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.result == nil {
		return ErrNoTable
	}
	return e.result.Scan(ctx, fn)
}

// ScanFloatRows streams the last result table's rows unboxed when its
// pipeline can (analysis.FloatRowSource).
func (e *Engine) ScanFloatRows(ctx context.Context, fn func(texts []string, values []float64) error) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.result
	if t == nil || t.ScanFloats == nil {
		return false, nil // ScanRows says why there is no table
	}
	return true, t.ScanFloats(ctx, fn)
}

var _ analysis.SeriesRangeSource = (*Engine)(nil)

// SeriesRanges announces the series of the last result table when its
// pipeline knows them (Table.Ranges), else nil
// (analysis.SeriesRangeSource).
func (e *Engine) SeriesRanges() []analysis.SeriesRange {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.result; t != nil && t.Ranges != nil {
		return t.Ranges()
	}
	return nil
}

// Complete finishes what the last table's pipeline leaves to its first
// complete scan (Table.Complete): a reader of the run's summary calls it
// when nothing may have scanned the table (a dry run). A no-op once a scan
// has completed, and when there is no table.
func (e *Engine) Complete(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.result; t != nil && t.Complete != nil {
		return t.Complete(ctx)
	}
	return nil
}

// Columns returns the columns of the last result table (nil if none).
func (e *Engine) Columns() []analysis.Column {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.result == nil {
		return nil
	}
	return append([]analysis.Column(nil), e.result.Columns...)
}

// WriteCSV writes the last result table as CSV (see the package WriteCSV).
func (e *Engine) WriteCSV(ctx context.Context, w io.Writer) error {
	cols := e.Columns()
	if cols == nil {
		return ErrNoTable
	}
	return WriteCSV(ctx, w, cols, e)
}

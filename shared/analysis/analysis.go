// Package analysis holds the domain of the energy analysis: modes, output
// column types, metrics, the appliance comparison, table names, and the
// outcome of analysing one file. The engine's pipelines produce it; the
// postgres and duckdb writers store it.
package analysis

import (
	"context"
	"fmt"
)

// Mode selects the pipeline's semantics.
type Mode string

const (
	// Compat reproduces the original Python pipeline, defects included
	// (docs/compat-pipeline.md).
	Compat Mode = "compat"
	// Corrected fixes the original's defects.
	Corrected Mode = "corrected"
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Compat, Corrected:
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown analysis mode %q (want compat or corrected)", s)
}

// MaxColumns is the most columns a table may have: PostgreSQL's limit.
// A wider table is skipped as too large before it is computed.
const MaxColumns = 1600

// DType is an output column's type, named as the original's polars types
// (the expected files use these names).
type DType string

const (
	UInt16  DType = "UInt16"
	UInt32  DType = "UInt32"
	UInt64  DType = "UInt64"
	Int64   DType = "Int64"
	Float32 DType = "Float32"
	Float64 DType = "Float64"
)

// DuckDB is the column type in DuckDB, which has the same unsigned types.
func (t DType) DuckDB() string {
	switch t {
	case UInt16:
		return "USMALLINT"
	case UInt32:
		return "UINTEGER"
	case UInt64:
		return "UBIGINT"
	case Int64:
		return "BIGINT"
	case Float32:
		return "FLOAT"
	case Text:
		return "VARCHAR"
	}
	return "DOUBLE"
}

// Postgres is the column type in PostgreSQL, which has no unsigned types:
// each unsigned type maps to the next wider signed one, except UInt64,
// whose values the pipelines bound to 0..2^63-1 (bigint).
func (t DType) Postgres() string {
	switch t {
	case UInt16:
		return "integer"
	case UInt32, UInt64, Int64:
		return "bigint"
	case Float32:
		return "real"
	case Text:
		return "text"
	}
	return "double precision"
}

// Column is one output column.
type Column struct {
	Name string
	Type DType
}

// SkipClass says why a file produced no table.
type SkipClass string

const (
	SkipMissing    SkipClass = "missing"    // file does not exist or cannot be read
	SkipEmpty      SkipClass = "empty"      // zero bytes
	SkipNotHDF5    SkipClass = "not_hdf5"   // no HDF5 signature
	SkipUnreadable SkipClass = "unreadable" // corrupted or truncated
	SkipUnexpected SkipClass = "unexpected" // a value the pipeline cannot process
	SkipNoData     SkipClass = "no_data"    // nothing usable in the file
	SkipTooLarge   SkipClass = "too_large"  // over a configured limit
	SkipNoOwner    SkipClass = "no_owner"   // object key outside any user's prefix
)

// Skip reasons as the original words them.
var skipReasons = map[SkipClass]string{
	SkipMissing:    "file does not exist",
	SkipEmpty:      "file is empty",
	SkipNotHDF5:    "not a valid HDF5 file",
	SkipUnreadable: "unreadable HDF5 (corrupted or truncated)",
	SkipUnexpected: "unexpected processing error",
	SkipNoData:     "no usable data produced",
	SkipTooLarge:   "file exceeds the configured size limit",
	SkipNoOwner:    "object key is outside any user's prefix",
}

// Reason is the original's wording for a skip class.
func (c SkipClass) Reason() string {
	if r, ok := skipReasons[c]; ok {
		return r
	}
	return string(c)
}

// Skip is a file that produced no table, with the reason recorded.
type Skip struct {
	Class  SkipClass
	Detail string // more precise cause, for the log and the catalog
}

func (s *Skip) Error() string {
	if s.Detail != "" {
		return s.Class.Reason() + ": " + s.Detail
	}
	return s.Class.Reason()
}

// RowSource streams a finished table's rows in order. fn gets a slice it
// must not keep (it is reused); values are uint16/uint32/uint64, int64,
// float32, float64, string or nil.
type RowSource interface {
	ScanRows(ctx context.Context, fn func(row []any) error) error
}

// FloatRowSource is a RowSource that may also give its rows unboxed: the
// values of its leading Text columns, then every other column as float64
// (NaN for NULL), both slices reused. Readers that take them skip boxing
// each value into an interface (an allocation each: a third of the Go
// time of a big corrected table). ScanFloatRows reports ok false, having
// called nothing, when this table cannot; then read it with ScanRows.
type FloatRowSource interface {
	RowSource
	ScanFloatRows(ctx context.Context, fn func(texts []string, values []float64) error) (ok bool, err error)
}

// SeriesRange is one (step, node) series of a table as its row source
// knows it before a scan: the epoch_s of its first and last rows and its
// row count. Node is "" for a table without a node column.
type SeriesRange struct {
	Step, Node string
	From, To   float64 // epoch_s of the series' first and last row
	Rows       int64
}

// SeriesRangeSource is a RowSource that can announce its table's series
// before a scan, so a reader can summarise each series as its rows pass
// instead of keeping them (results.LevelRecorder). It is optional, and
// SeriesRanges returns nil when the table's series are not known.
type SeriesRangeSource interface {
	RowSource
	// SeriesRanges lists the table's series. In a scan that follows, the
	// rows of each listed series arrive contiguous (no row of another
	// series among them) and sorted by epoch_s, non-decreasing: exactly
	// Rows of them, the first at From and the last at To.
	SeriesRanges() []SeriesRange
}

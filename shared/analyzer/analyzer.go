// Package analyzer runs profiles through the analysis and publishes what
// comes out: local files for the batch analyzer, bucket objects for the
// analyze function and the nightly re-scan. It wires the hdf5/duckdb
// pipeline to a sink (PostgreSQL, or the embedded DuckDB file) and keeps
// the catalog of runs.
package analyzer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/duckdb"
)

// Sink stores a result: its table (when it has one) and its catalog
// record, together or not at all.
type Sink interface {
	Publish(ctx context.Context, res *analysis.Result, rows analysis.RowSource, run *analysis.Run) error
}

// Analyzer runs one file at a time through its engine.
type Analyzer struct {
	mode   analysis.Mode
	mu     sync.Mutex
	engine *duckdb.Engine
}

// New opens an analyzer with its own DuckDB engine.
func New(mode analysis.Mode, opt duckdb.Options) (*Analyzer, error) {
	if _, err := analysis.ParseMode(string(mode)); err != nil {
		return nil, err
	}
	e, err := duckdb.New(opt)
	if err != nil {
		return nil, err
	}
	return &Analyzer{mode: mode, engine: e}, nil
}

// Close releases the engine.
func (a *Analyzer) Close() error { return a.engine.Close() }

// Mode is the analysis mode.
func (a *Analyzer) Mode() analysis.Mode { return a.mode }

// Output is what Analyze produced: the result, and the engine's table
// until the next Analyze.
type Output struct {
	*analysis.Result
	a *Analyzer
}

// Rows streams the table (analysis.RowSource).
func (o Output) Rows() analysis.RowSource { return o.a.engine }

// WriteCSV writes the table as CSV (header row, empty field for NULL).
func (o Output) WriteCSV(ctx context.Context, w io.Writer) error { return o.a.engine.WriteCSV(ctx, w) }

// Analyze runs the pipeline on a local file; name is what the table is
// named after (the object key for a downloaded object; the path for a
// local file). Callers serialise Analyze and the use of its Output.
func (a *Analyzer) Analyze(ctx context.Context, path, name string) (Output, error) {
	var res *analysis.Result
	var err error
	switch a.mode {
	case analysis.Compat:
		res, err = a.engine.Compat(ctx, path, duckdb.CompatOptions{Name: name})
	default:
		err = fmt.Errorf("analysis mode %s is not available", a.mode)
	}
	if err != nil {
		return Output{}, err
	}
	return Output{Result: res, a: a}, nil
}

// Lock serialises users of one analyzer (Analyze, then publishing its
// output).
func (a *Analyzer) Lock()   { a.mu.Lock() }
func (a *Analyzer) Unlock() { a.mu.Unlock() }

// NewRun makes the catalog record of a result.
func NewRun(res *analysis.Result, schema string, started time.Time) analysis.Run {
	r := analysis.Run{
		Schema: schema, FullTable: res.Table, Mode: res.Mode, StartedAt: started,
		PipelineSeconds: res.Seconds, Details: res.Details,
	}
	if res.Skip != nil {
		r.Status, r.SkipClass, r.Reason, r.Error = analysis.StatusSkipped, res.Skip.Class, res.Skip.Class.Reason(), res.Skip.Detail
		return r
	}
	r.Status, r.Rows, r.Columns = analysis.StatusDone, res.Rows, res.Columns
	if res.Metrics != nil {
		r.Metrics = res.Metrics
	}
	return r
}

// Line is the batch analyzer's JSON line for one file: the fields and
// types of the expected files.
type Line struct {
	File       string            `json:"file"`
	Table      *string           `json:"table"`
	Rows       int64             `json:"rows"`
	Columns    []string          `json:"columns"`
	DTypes     []analysis.DType  `json:"dtypes"`
	Metrics    *analysis.Metrics `json:"metrics"`
	SkipReason *string           `json:"skip_reason"`
	Seconds    float64           `json:"seconds"`
	Status     string            `json:"status"`
	Error      string            `json:"error,omitempty"`
}

// NewLine summarises a result.
func NewLine(res *analysis.Result, status string, seconds float64) Line {
	l := Line{File: res.File, Rows: res.Rows, Metrics: res.Metrics, Seconds: seconds, Status: status,
		Columns: []string{}, DTypes: []analysis.DType{}}
	if res.Skip != nil {
		reason := res.Skip.Class.Reason()
		l.SkipReason = &reason
	} else {
		t := res.Table
		l.Table = &t
	}
	for _, c := range res.Columns {
		l.Columns = append(l.Columns, c.Name)
		l.DTypes = append(l.DTypes, c.Type)
	}
	return l
}

// FileSHA256 hashes a file, for the catalog of local files.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ErrTransient marks failures of a dependency (database, object store)
// that may succeed later: the work must be retried, not recorded as a
// property of the file.
var ErrTransient = errors.New("dependency unavailable")

// Package analyzer runs profiles through the analysis and publishes what
// comes out: local files for the batch analyzer, bucket objects for the
// analyze function and the nightly re-scan. It wires the engine's
// pipelines to a sink (PostgreSQL, or a DuckDB file for the batch
// analyzer) and keeps the catalog of runs.
package analyzer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/engine/compat"
	"github.com/benchwrap/backend/shared/engine/corrected"
	"github.com/benchwrap/backend/shared/pricing"
)

// Sink stores a result: its table (when it has one) and its catalog
// record, together or not at all.
type Sink interface {
	Publish(ctx context.Context, res *analysis.Result, rows analysis.RowSource, run *analysis.Run) error
}

// Config configures an Analyzer.
type Config struct {
	Mode   analysis.Mode
	Engine engine.Options
	// Price and Carbon are the electricity price and carbon-intensity
	// sources; nil is off (the original's default).
	Price, Carbon pricing.Source
}

// Analyzer runs one file at a time through its engine.
type Analyzer struct {
	cfg    Config
	mu     sync.Mutex
	engine *engine.Engine
}

// New opens an analyzer with its own engine.
func New(cfg Config) (*Analyzer, error) {
	if _, err := analysis.ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	return &Analyzer{cfg: cfg, engine: engine.New(cfg.Engine)}, nil
}

// Close releases the engine.
func (a *Analyzer) Close() error { return a.engine.Close() }

// Mode is the analysis mode.
func (a *Analyzer) Mode() analysis.Mode { return a.cfg.Mode }

// Output is what Analyze produced: the result, its corrected-mode summary,
// and the rows of the engine's table until the next Analyze.
type Output struct {
	*analysis.Result
	Summary *analysis.Summary // corrected mode
	rows    analysis.RowSource
}

// RowSource streams the table's rows (Result.Rows counts them).
func (o Output) RowSource() analysis.RowSource { return o.rows }

// WriteCSV writes the table as CSV: a header row, an empty field for NULL,
// numbers as the original printed them.
func (o Output) WriteCSV(ctx context.Context, w io.Writer) error {
	return engine.WriteCSV(ctx, w, o.Columns, o.rows)
}

// Analyze runs the pipeline on a local file; name is what the table is
// named after (the object key for a downloaded object; the path for a
// local file). Callers serialise Analyze and the use of its Output.
func (a *Analyzer) Analyze(ctx context.Context, path, name string) (Output, error) {
	out := Output{rows: a.engine}
	var err error
	switch a.cfg.Mode {
	case analysis.Compat:
		out.Result, err = compat.New(a.engine).Run(ctx, path, compat.Options{Name: name})
		if err == nil && a.cfg.Price != nil && out.Skip == nil {
			err = a.compatPrices(ctx, &out)
		}
	case analysis.Corrected:
		out.Result, out.Summary, err = corrected.New(a.engine).Run(ctx, path, corrected.Options{Name: name, Price: a.cfg.Price, Carbon: a.cfg.Carbon})
	default:
		err = fmt.Errorf("analysis mode %s is not available", a.cfg.Mode)
	}
	if err != nil {
		return Output{}, err
	}
	return out, nil
}

// Complete finishes the output's summary when nothing has scanned its
// table (engine.Engine.Complete): publishing scans it; a dry run calls
// this before reading the summary.
func (a *Analyzer) Complete(ctx context.Context) error { return a.engine.Complete(ctx) }

// Lock serialises users of one analyzer (Analyze, then publishing its
// output).
func (a *Analyzer) Lock()   { a.mu.Lock() }
func (a *Analyzer) Unlock() { a.mu.Unlock() }

// NewRun makes the catalog record of an output.
func NewRun(out Output, schema string, started time.Time) analysis.Run {
	res := out.Result
	r := analysis.Run{
		Schema: schema, FullTable: res.Table, Mode: res.Mode, StartedAt: started,
		PipelineSeconds: res.Seconds, Details: res.Details,
	}
	if res.Skip != nil {
		r.Status, r.SkipClass, r.Reason, r.Error = analysis.StatusSkipped, res.Skip.Class, res.Skip.Class.Reason(), res.Skip.Detail
		return r
	}
	r.Status, r.Rows, r.Columns = analysis.StatusDone, res.Rows, res.Columns
	switch {
	case out.Summary != nil:
		r.Metrics, r.Summaries = out.Summary, out.Summary.Rows()
	case res.Metrics != nil:
		r.Metrics = res.Metrics
	}
	return r
}

// Line is the batch analyzer's JSON line for one file: the fields and
// types of the expected files.
type Line struct {
	File       string           `json:"file"`
	Table      *string          `json:"table"`
	Rows       int64            `json:"rows"`
	Columns    []string         `json:"columns"`
	DTypes     []analysis.DType `json:"dtypes"`
	Metrics    any              `json:"metrics"` // *analysis.Metrics, or the corrected-mode *analysis.Summary
	SkipReason *string          `json:"skip_reason"`
	Seconds    float64          `json:"seconds"`
	Status     string           `json:"status"`
	Error      string           `json:"error,omitempty"`
}

// NewLine summarises an output.
func NewLine(out Output, status string, seconds float64) Line {
	res := out.Result
	l := Line{File: res.File, Rows: res.Rows, Seconds: seconds, Status: status,
		Columns: []string{}, DTypes: []analysis.DType{}}
	switch {
	case out.Summary != nil:
		l.Metrics = out.Summary
	case res.Metrics != nil:
		l.Metrics = res.Metrics
	}
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
var ErrTransient = analysis.ErrTransient

package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
)

// Run is one pipeline run on the engine, handed to the pipeline by
// Engine.Run: the request's context, the result being filled, the
// database and the engine's options, and the intermediate tables to drop
// at the end. It is only valid during the call.
type Run struct {
	Ctx context.Context
	Res *analysis.Result
	DB  *DB
	Opt Options

	e       *Engine
	scratch []string // intermediate tables to drop
}

// Pipeline builds the table of one file in a Run. A file that yields no
// table returns a SkipError (see Skipf); a value the pipeline cannot
// process (a DuckDB data error) becomes an unexpected skip; any other
// error is the engine's own failure.
type Pipeline func(r *Run) (*Table, error)

// Run runs a pipeline of mode on the file at path, under the engine's
// lock: callers need no locking of their own. The label (and so the table
// name) derives from name, the path when empty. A file that yields no
// table is not an error: the Result's Skip says why. The error is for
// failures of the engine itself (cancelled context, DuckDB out of memory,
// ...); the Result is nil then. On success the table replaces the
// previous one in the engine and ScanRows/WriteCSV read it; after a skip
// there is no table.
func (e *Engine) Run(ctx context.Context, mode analysis.Mode, path, name string, p Pipeline) (*analysis.Result, error) {
	start := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db == nil {
		return nil, errors.New("duckdb: engine is closed")
	}
	res := newResult(mode, path, name)
	if err := e.dropResult(ctx); err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	run := &Run{Ctx: ctx, Res: res, DB: e.db, Opt: e.opt, e: e}
	var out *Table
	err := run.protect(func() (err error) {
		out, err = p(run)
		return err
	})
	if err := run.finish(out, err, start); err != nil {
		return nil, err
	}
	return res, nil
}

// SkipError stops a run: the file produces no table.
type SkipError struct{ Skip analysis.Skip }

func (e *SkipError) Error() string { return e.Skip.Error() }

// Skipf makes a SkipError of the class.
func Skipf(class analysis.SkipClass, format string, args ...any) error {
	return &SkipError{analysis.Skip{Class: class, Detail: fmt.Sprintf(format, args...)}}
}

// protect turns a panic below into an unexpected skip: a malformed file
// must not bring the process down.
func (r *Run) protect(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Skipf(analysis.SkipUnexpected, "internal error: %v\n%s", p, debug.Stack())
		}
	}()
	return fn()
}

// Exec runs one statement, traced when the engine has a tracer.
func (r *Run) Exec(query string) error {
	if tr := r.Opt.Trace; tr != nil {
		defer func(t0 time.Time) { tr(query, time.Since(t0)) }(time.Now())
	}
	if err := r.e.exec(r.Ctx, query); err != nil {
		return fmt.Errorf("%w\nquery: %s", err, query)
	}
	return nil
}

// Create runs a CREATE TABLE name AS query and records name as scratch.
func (r *Run) Create(name, query string) error {
	r.scratch = append(r.scratch, name)
	return r.Exec("CREATE OR REPLACE TABLE " + name + " AS " + query)
}

// AddScratch records a table the pipeline created (e.g. through an
// Appender) as scratch: dropped with the run's result.
func (r *Run) AddScratch(name string) { r.scratch = append(r.scratch, name) }

func (r *Run) dropScratch() {
	for _, t := range r.scratch {
		_ = r.e.exec(context.Background(), "DROP TABLE IF EXISTS "+t)
	}
	r.scratch = nil
}

// newResult starts the result of a run of mode on path; the label (and
// so the table name) derives from name, the path when empty.
func newResult(mode analysis.Mode, path, name string) *analysis.Result {
	if name == "" {
		name = path
	}
	label := analysis.Label(name)
	res := &analysis.Result{
		Mode:  mode,
		File:  baseName(name),
		Label: label,
		JobID: analysis.JobID(label),
		Table: analysis.TableName(label),
	}
	res.Details.JobID, res.Details.TableName = res.JobID, res.Table
	return res
}

func baseName(name string) string {
	return path.Base(strings.ReplaceAll(name, "\\", "/"))
}

// finish settles a run: on success its table becomes the engine's result
// (the result view reads the intermediate tables, so they stay until the
// next run); a skip, or a value the pipeline cannot process, becomes the
// Result's Skip; anything else is the engine's own failure.
func (r *Run) finish(out *Table, err error, start time.Time) error {
	r.Res.Seconds = time.Since(start).Seconds()
	if err == nil {
		r.e.result, r.e.scratch = out, r.scratch
		return nil
	}
	r.dropScratch()
	_ = r.e.dropResult(context.Background())
	var se *SkipError
	var de *dbError
	switch {
	case errors.As(err, &se):
	case r.Ctx.Err() != nil:
		return r.Ctx.Err()
	case isDataError(err) && errors.As(err, &de):
		// A value the pipeline cannot process (e.g. a NaN EpochTime under
		// the strict integer cast): the original failed the file the same way.
		se = &SkipError{analysis.Skip{Class: analysis.SkipUnexpected, Detail: de.msg}}
	default:
		return fmt.Errorf("duckdb: %s %s: %w", r.Res.Mode, r.Res.File, err)
	}
	skip := se.Skip
	r.Res.Skip, r.Res.Rows, r.Res.Columns, r.Res.Metrics = &skip, 0, nil, nil
	return nil
}

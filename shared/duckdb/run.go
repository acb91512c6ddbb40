package duckdb

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
)

// pipelineRun is what every pipeline run has: the engine, the request's context,
// the result being filled, and the intermediate tables to drop at the end.
type pipelineRun struct {
	e       *Engine
	ctx     context.Context
	res     *analysis.Result
	scratch []string // intermediate tables to drop
}

// protect turns a panic below into an unexpected skip: a malformed file
// must not bring the process down.
func (r *pipelineRun) protect(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = skipf(analysis.SkipUnexpected, "internal error: %v\n%s", p, debug.Stack())
		}
	}()
	return fn()
}

// exec runs one statement, traced when the engine has a tracer.
func (r *pipelineRun) exec(query string) error {
	if tr := r.e.opt.Trace; tr != nil {
		defer func(t0 time.Time) { tr(query, time.Since(t0)) }(time.Now())
	}
	if err := r.e.exec(r.ctx, query); err != nil {
		return fmt.Errorf("%w\nquery: %s", err, query)
	}
	return nil
}

// create runs a CREATE TABLE name AS query and records name as scratch.
func (r *pipelineRun) create(name, query string) error {
	r.scratch = append(r.scratch, name)
	return r.exec("CREATE OR REPLACE TABLE " + name + " AS " + query)
}

func (r *pipelineRun) dropScratch() {
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

// finish settles a run: on success its table becomes the engine's result
// (the result view reads the intermediate tables, so they stay until the
// next run); a skip, or a value the pipeline cannot process, becomes the
// Result's Skip; anything else is the engine's own failure.
func (r *pipelineRun) finish(out *table, err error, start time.Time) error {
	r.res.Seconds = time.Since(start).Seconds()
	if err == nil {
		r.e.result, r.e.scratch = out, r.scratch
		return nil
	}
	r.dropScratch()
	_ = r.e.dropResult(context.Background())
	var se *skipError
	var de *dbError
	switch {
	case errors.As(err, &se):
	case r.ctx.Err() != nil:
		return r.ctx.Err()
	case isDataError(err) && errors.As(err, &de):
		// A value the pipeline cannot process (e.g. a NaN EpochTime under
		// the strict integer cast): the original failed the file the same way.
		se = &skipError{analysis.Skip{Class: analysis.SkipUnexpected, Detail: de.msg}}
	default:
		return fmt.Errorf("duckdb: %s %s: %w", r.res.Mode, r.res.File, err)
	}
	skip := se.skip
	r.res.Skip, r.res.Rows, r.res.Columns, r.res.Metrics = &skip, 0, nil, nil
	return nil
}

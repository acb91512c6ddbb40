package duckdb

import (
	"context"
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

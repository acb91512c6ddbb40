package engine

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
// Engine.Run: the request's context, the result being filled and the
// engine's options. It is only valid during the call.
type Run struct {
	Ctx context.Context
	Res *analysis.Result
	Opt Options
}

// Pipeline builds the table of one file in a Run. A file that yields no
// table returns a SkipError (see Skipf); any other error is the engine's
// own failure.
type Pipeline func(r *Run) (*Table, error)

// Run runs a pipeline of mode on the file at path, under the engine's
// lock: callers need no locking of their own. The label (and so the table
// name) derives from name, the path when empty. A file that yields no
// table is not an error: the Result's Skip says why. The error is for
// failures of the engine itself (a cancelled context, a closed engine);
// the Result is nil then. On success the table replaces the previous one
// in the engine and ScanRows/WriteCSV read it; after a skip there is no
// table.
func (e *Engine) Run(ctx context.Context, mode analysis.Mode, path, name string, p Pipeline) (*analysis.Result, error) {
	start := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	e.result = nil // its memory may serve this run
	res := newResult(mode, path, name)
	run := &Run{Ctx: ctx, Res: res, Opt: e.opt}
	var out *Table
	err := run.protect(func() (err error) {
		out, err = p(run)
		return err
	})
	if err := run.finish(out, err, start); err != nil {
		return nil, err
	}
	e.result = out
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

// finish settles a run: a skip becomes the Result's Skip; anything else
// is the engine's own failure (or the context's).
func (r *Run) finish(out *Table, err error, start time.Time) error {
	r.Res.Seconds = time.Since(start).Seconds()
	if err == nil {
		if out == nil || out.Scan == nil {
			return fmt.Errorf("engine: %s %s: the pipeline returned no table", r.Res.Mode, r.Res.File)
		}
		return nil
	}
	var se *SkipError
	switch {
	case errors.As(err, &se):
	case r.Ctx.Err() != nil:
		return r.Ctx.Err()
	default:
		return fmt.Errorf("engine: %s %s: %w", r.Res.Mode, r.Res.File, err)
	}
	skip := se.Skip
	r.Res.Skip, r.Res.Rows, r.Res.Columns, r.Res.Metrics = &skip, 0, nil, nil
	return nil
}

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/metrics"
	"github.com/benchwrap/backend/shared/storage"
)

// ObjectStore reads the objects to analyse.
type ObjectStore interface {
	Bucket() string
	Download(ctx context.Context, key, etag string, dst io.Writer, max int64) (int64, error)
}

// Catalog finds what was already recorded of an object version.
type Catalog interface {
	FindRun(ctx context.Context, bucket, key, etag string, mode analysis.Mode) (analysis.RunSummary, bool, error)
}

// Owners says whether a username is a registered account.
type Owners interface {
	UserByName(ctx context.Context, username string) (account.User, error)
}

// Processor analyses bucket objects into their owners' schemas, once per
// object version: the analyze function and the re-scan use it.
type Processor struct {
	Analyzer *Analyzer
	Sink     Sink
	Catalog  Catalog
	Objects  ObjectStore
	Owners   Owners
	MaxBytes int64  // larger objects are recorded as skipped
	TempDir  string // where objects are downloaded; os.TempDir() when empty
}

// Object is one object version to analyse.
type Object struct {
	Bucket    string
	Key       string
	ETag      string
	Sequencer string // informative only: never used for ordering
	Size      int64
	JobID     int64 // the queue's job (analysis_jobs); 0 outside the queue
}

// Outcome is what happened to one object, as the analyze function reports it.
type Outcome struct {
	Bucket string `json:"bucket"`
	Object string `json:"object"`
	Status string `json:"status"` // done, skipped, failed, superseded
	Table  string `json:"table,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Timings: where the call spent its time (the queue records them).
	Timings Timings `json:"-"`

	skipClass analysis.SkipClass // for the metrics (metrics.go)
}

// Timings are the phases of one Process call, in seconds.
type Timings struct {
	Lookup    float64 `json:"lookup"`    // the owner's account and the catalog's earlier run
	Download  float64 `json:"download"`  // the object into a temporary file
	Transform float64 `json:"transform"` // HDF5 (with its isolated metadata probe) to the table in the engine
	Publish   float64 `json:"publish"`   // the table, catalog row and job status in one transaction
}

// reasonAlready is the reason of an outcome found in the catalog.
const reasonAlready = "already analysed"

// Outcome statuses beyond the catalog's.
const (
	// StatusSuperseded: a newer version of the object was (or will be)
	// analysed; this event changes nothing.
	StatusSuperseded = "superseded"
)

// ProcessOptions change what counts as already done.
type ProcessOptions struct {
	RetryFailed bool // analyse again a version whose last run failed (re-scans)
	Force       bool // analyse again whatever was recorded (batch analyzer)
}

// process is Process (metrics.go) before its outcome is counted.
func (p *Processor) process(ctx context.Context, o Object, opt ProcessOptions) (Outcome, error) {
	out := Outcome{Bucket: o.Bucket, Object: o.Key}
	started := time.Now()
	mode := p.Analyzer.Mode()
	base := analysis.Run{Source: "minio", Bucket: o.Bucket, Key: o.Key, ETag: o.ETag, Sequencer: o.Sequencer,
		Size: o.Size, Mode: mode, StartedAt: started, JobID: o.JobID}

	owner, rest, ok := strings.Cut(o.Key, "/")
	if ok && rest != "" && account.ValidateUsername(owner) == nil {
		u, err := p.Owners.UserByName(ctx, owner)
		switch {
		case err == nil:
			owner = u.Username
		case errors.Is(err, account.ErrNotFound):
			ok = false
		default:
			return out, fmt.Errorf("%w: find owner: %w", ErrTransient, err)
		}
	} else {
		ok = false
	}
	if !ok {
		run := base
		run.Status, run.SkipClass, run.Reason = analysis.StatusSkipped, analysis.SkipNoOwner, analysis.SkipNoOwner.Reason()
		return p.record(ctx, out, &run)
	}
	base.Username, base.Schema = owner, owner

	if o.ETag != "" && !opt.Force {
		prev, found, err := p.Catalog.FindRun(ctx, o.Bucket, o.Key, o.ETag, mode)
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrTransient, err)
		}
		if found && (!opt.RetryFailed || prev.Status != analysis.StatusFailed) {
			out.Status, out.Table, out.Reason = prev.Status, prev.Table, reasonAlready
			return out, nil
		}
	}

	phase := time.Now()
	out.Timings.Lookup = phase.Sub(started).Seconds()
	path, size, err := p.download(ctx, o)
	out.Timings.Download = time.Since(phase).Seconds()
	if path != "" {
		defer os.Remove(path)
	}
	switch {
	case errors.Is(err, storage.ErrChanged):
		// Overwritten since the event: the newer version's own event
		// will bring it.
		out.Status, out.Reason = StatusSuperseded, "the object changed since this event"
		return out, nil
	case errors.Is(err, storage.ErrGone):
		run := base
		run.Status, run.SkipClass, run.Reason, run.Error = analysis.StatusSkipped, analysis.SkipMissing, "object no longer exists", err.Error()
		return p.record(ctx, out, &run)
	case errors.Is(err, storage.ErrTooLarge):
		run := base
		run.Status, run.SkipClass, run.Reason, run.Error = analysis.StatusSkipped, analysis.SkipTooLarge, analysis.SkipTooLarge.Reason(), err.Error()
		return p.record(ctx, out, &run)
	case err != nil:
		return out, fmt.Errorf("%w: %w", ErrTransient, err)
	}
	base.Size = size
	base.ReadSeconds = time.Since(started).Seconds()

	// The table is named after the key below the owner's prefix, so keys
	// in different folders of one user do not collide.
	name := strings.ReplaceAll(rest, "/", "_")
	p.Analyzer.Lock()
	defer p.Analyzer.Unlock()
	phase = time.Now()
	res, err := p.Analyzer.Analyze(ctx, path, name)
	out.Timings.Transform = time.Since(phase).Seconds()
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		run := base
		run.Status, run.Reason, run.Error = analysis.StatusFailed, "analysis failed", err.Error()
		return p.record(ctx, out, &run)
	}
	observeTransform(res, size)
	run := NewRun(res, owner, started)
	run.Source, run.Bucket, run.Key, run.ETag, run.Sequencer, run.Size = base.Source, base.Bucket, base.Key, base.ETag, base.Sequencer, base.Size
	run.Username, run.ReadSeconds, run.JobID = owner, base.ReadSeconds, base.JobID
	phase = time.Now()
	err = p.Sink.Publish(ctx, res.Result, res.RowSource(), &run)
	out.Timings.Publish = time.Since(phase).Seconds()
	if err != nil {
		if errors.Is(err, analysis.ErrSuperseded) {
			out.Status, out.Reason = StatusSuperseded, "a newer upload of this key replaced it"
			return out, nil
		}
		if errors.Is(err, ErrTransient) || ctx.Err() != nil {
			return out, err
		}
		failed := base
		failed.Status, failed.Reason, failed.Error = analysis.StatusFailed, "could not store the table", err.Error()
		return p.record(ctx, out, &failed)
	}
	observeWrite(run)
	out.Status, out.Reason, out.skipClass = run.Status, run.Reason, run.SkipClass
	if run.Table != "" {
		out.Table = run.Schema + "." + run.Table
	}
	return out, nil
}

// record stores a run without a table and reports it.
func (p *Processor) record(ctx context.Context, out Outcome, run *analysis.Run) (Outcome, error) {
	run.FinishedAt = time.Now()
	if err := p.Sink.Publish(ctx, nil, nil, run); err != nil {
		if errors.Is(err, analysis.ErrSuperseded) {
			out.Status, out.Reason = StatusSuperseded, "a newer upload of this key replaced it"
			return out, nil
		}
		return out, err
	}
	out.Status, out.Reason, out.skipClass = run.Status, run.Reason, run.SkipClass
	return out, nil
}

func (p *Processor) download(ctx context.Context, o Object) (string, int64, error) {
	f, err := os.CreateTemp(p.TempDir, "analyze-*.h5")
	if err != nil {
		return "", 0, fmt.Errorf("temporary file: %w", err)
	}
	start := time.Now()
	n, err := p.Objects.Download(ctx, o.Key, o.ETag, f, p.MaxBytes)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		metrics.ObservePhase(metrics.PhaseRead, time.Since(start), n, 0)
	}
	return f.Name(), n, err
}

package queue

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/postgres"
)

// Kind is the River job kind of an analysis.
const Kind = "analyze"

// fetchPollInterval is how often idle workers look for jobs without a
// notification (the only way with ANALYZE_POLL_ONLY).
const fetchPollInterval = 250 * time.Millisecond

// Args is the River job of one analysis: the analysis_jobs row, and what
// scheduling needs without reading it (owner for the per-user cap, size
// for the memory budget).
type Args struct {
	JobID int64  `json:"job_id"`
	Owner string `json:"owner"`
	Size  int64  `json:"size"`
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return Kind }

// Queue enqueues analyses (an insert-only River client).
type Queue struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	s      Settings
}

// New returns a Queue inserting through pool, which must be migrated
// (postgres.Migrate creates River's tables too).
func New(pool *pgxpool.Pool, s Settings) (*Queue, error) {
	if err := s.normalise(); err != nil {
		return nil, err
	}
	// Its FetchCooldown spaces the insert notifications per lane: short,
	// so an upload arriving just after another still wakes an idle worker
	// instead of waiting for its next poll.
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quietLogger(), FetchCooldown: 5 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("queue client: %w", err)
	}
	return &Queue{pool: pool, client: c, s: s}, nil
}

// Settings are the queue's settings, normalised.
func (q *Queue) Settings() Settings { return q.s }

// Enqueue records an object version as queued and enqueues its analysis,
// in one transaction. A version already recorded is returned as it is
// (created false): replays are no-ops. A newer version supersedes older
// unsettled ones; an older one arriving late is recorded as superseded.
func (q *Queue) Enqueue(ctx context.Context, j analysis.Job) (job analysis.Job, created bool, err error) {
	j.Lane = q.s.Lane(j.Size)
	err = pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		job, created, err = postgres.RecordJobTx(ctx, tx, j)
		if err != nil || !created || job.Status != analysis.JobQueued {
			return err
		}
		return q.insertTx(ctx, tx, &job)
	})
	return job, created, err
}

func (q *Queue) insertTx(ctx context.Context, tx pgx.Tx, job *analysis.Job) error {
	n, err := postgres.QueuedForOwner(ctx, tx, job.Owner)
	if err != nil {
		return err
	}
	res, err := q.client.InsertTx(ctx, tx, Args{JobID: job.ID, Owner: job.Owner, Size: job.Size},
		&river.InsertOpts{Queue: job.Lane, MaxAttempts: q.s.MaxAttempts, Priority: priority(n)})
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	job.RiverJobID = res.Job.ID
	return postgres.SetRiverJobTx(ctx, tx, job.ID, res.Job.ID)
}

// priority spreads a user's burst over River's four priorities by how
// many of their jobs already wait: another user's first upload goes ahead
// of the tail of a thousand-file burst (River takes lower numbers first).
func priority(waiting int) int {
	switch {
	case waiting <= 2:
		return 1
	case waiting <= 8:
		return 2
	case waiting <= 32:
		return 3
	}
	return 4
}

// RecordSkip records a refused event (status skipped, or superseded).
func (q *Queue) RecordSkip(ctx context.Context, j analysis.Job) (analysis.Job, error) {
	return postgres.RecordSkip(ctx, q.pool, j)
}

// Retry queues a failed job again (an operator's retry).
func (q *Queue) Retry(ctx context.Context, id int64) (job analysis.Job, err error) {
	err = pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		if job, err = postgres.RequeueJobTx(ctx, tx, id); err != nil {
			return err
		}
		if job.Lane == "" {
			job.Lane = q.s.Lane(job.Size)
		}
		return q.insertTx(ctx, tx, &job)
	})
	return job, err
}

// retryPolicy backs off exponentially from base to max, with ±25 % jitter
// so the jobs of one outage do not all come back at once.
type retryPolicy struct{ base, max time.Duration }

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.delay(job.Attempt))
}

func (p retryPolicy) delay(attempt int) time.Duration {
	d := p.base
	for i := 1; i < attempt && d < p.max; i++ {
		d *= 2
	}
	d = min(d, p.max)
	return time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
}

// quietLogger keeps River's own logging to warnings and errors
// (ANALYZE_RIVER_LOG=debug shows all of it).
func quietLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("ANALYZE_RIVER_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(minLevel{slog.Default().Handler(), level})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }

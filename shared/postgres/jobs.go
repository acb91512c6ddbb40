package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/benchwrap/backend/shared/analysis"
)

// The analysis queue's records (analysis_jobs). Every per-key lock here is
// a transaction-scoped advisory lock: it is released by the commit or the
// rollback, so no pooled connection ever keeps a lock while it waits.

// liveJob is a row that stands for its version (the unique index's
// predicate): refused events never do.
const liveJob = `status IN ('queued', 'running', 'analysed', 'failed')`

const jobColumns = `id, bucket, object_key, etag, object_size, coalesce(object_mtime, 'epoch'), coalesce(owner, ''),
	coalesce(lane, ''), status, coalesce(reason, ''), coalesce(last_error, ''), attempts, coalesce(river_job_id, 0),
	created_at, coalesce(started_at, 'epoch'), coalesce(finished_at, 'epoch')`

func scanJob(row pgx.Row) (analysis.Job, error) {
	var j analysis.Job
	err := row.Scan(&j.ID, &j.Bucket, &j.Key, &j.ETag, &j.Size, &j.MTime, &j.Owner, &j.Lane, &j.Status, &j.Reason,
		&j.LastError, &j.Attempts, &j.RiverJobID, &j.CreatedAt, &j.StartedAt, &j.FinishedAt)
	for _, t := range []*time.Time{&j.MTime, &j.StartedAt, &j.FinishedAt} {
		if t.Unix() == 0 {
			*t = time.Time{}
		}
	}
	return j, err
}

// LockKeyTx serialises work on one object key until tx ends.
func LockKeyTx(ctx context.Context, tx pgx.Tx, bucket, key string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, bucket+"/"+key); err != nil {
		return fmt.Errorf("lock object: %w", err)
	}
	return nil
}

// RecordJobTx records an accepted object version as queued, once: a
// version already recorded is returned with created false. Versions are
// ordered by the object store's modification time: a newer version
// supersedes the older ones not yet settled (started or not), and an older
// one arriving late is recorded as superseded.
func RecordJobTx(ctx context.Context, tx pgx.Tx, j analysis.Job) (analysis.Job, bool, error) {
	if err := LockKeyTx(ctx, tx, j.Bucket, j.Key); err != nil {
		return j, false, err
	}
	prev, err := scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM analysis_jobs WHERE bucket = $1 AND object_key = $2 AND etag = $3
		AND `+liveJob, j.Bucket, j.Key, j.ETag))
	if err == nil {
		return prev, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return j, false, fmt.Errorf("find job: %w", err)
	}
	var newer bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM analysis_jobs WHERE bucket = $1 AND object_key = $2 AND etag <> $3
		AND `+liveJob+` AND object_mtime > $4)`, j.Bucket, j.Key, j.ETag, j.MTime).Scan(&newer); err != nil {
		return j, false, fmt.Errorf("find newer job: %w", err)
	}
	j.Status = analysis.JobQueued
	if newer {
		j.Status, j.Reason = analysis.JobSuperseded, "a newer upload of this key exists"
	} else if _, err := tx.Exec(ctx, `UPDATE analysis_jobs SET status = 'superseded', reason = 'a newer upload of this key replaced it',
		finished_at = now() WHERE bucket = $1 AND object_key = $2 AND etag <> $3 AND status IN ('queued', 'running', 'failed')`,
		j.Bucket, j.Key, j.ETag); err != nil {
		return j, false, fmt.Errorf("supersede older jobs: %w", err)
	}
	j, err = insertJob(ctx, tx, j)
	return j, err == nil, err
}

func insertJob(ctx context.Context, q querier, j analysis.Job) (analysis.Job, error) {
	var mtime any
	if !j.MTime.IsZero() {
		mtime = j.MTime
	}
	var finished any
	if j.Status != analysis.JobQueued {
		finished = time.Now()
	}
	err := q.QueryRow(ctx, `INSERT INTO analysis_jobs (bucket, object_key, etag, object_size, object_mtime, owner, lane, status, reason, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING id, created_at`,
		j.Bucket, j.Key, j.ETag, j.Size, mtime, nullable(j.Owner), nullable(j.Lane), j.Status, nullable(j.Reason), finished).Scan(&j.ID, &j.CreatedAt)
	if err != nil {
		return j, fmt.Errorf("insert job: %w", err)
	}
	return j, nil
}

// RecordSkip records an event refused before it became work (a bad
// record, a key outside any user's prefix, a missing object: skipped; a
// version the store no longer holds: superseded), so it is visible. Each
// refusal is its own row and never marks the version as known.
func RecordSkip(ctx context.Context, q querier, j analysis.Job) (analysis.Job, error) {
	if j.Status != analysis.JobSuperseded {
		j.Status = analysis.JobSkipped
	}
	return insertJob(ctx, q, j)
}

// SetRiverJobTx links a job to the River job that works it.
func SetRiverJobTx(ctx context.Context, tx pgx.Tx, id, riverID int64) error {
	_, err := tx.Exec(ctx, `UPDATE analysis_jobs SET river_job_id = $2 WHERE id = $1`, id, riverID)
	if err != nil {
		return fmt.Errorf("link job: %w", err)
	}
	return nil
}

// StartJob marks a job running (one more attempt) and returns it; a job
// already settled is returned as it is, for the worker to leave alone.
func StartJob(ctx context.Context, q querier, id int64) (analysis.Job, error) {
	j, err := scanJob(q.QueryRow(ctx, `UPDATE analysis_jobs SET status = 'running', started_at = now(), attempts = attempts + 1
		WHERE id = $1 AND status IN ('queued', 'running', 'failed') RETURNING `+jobColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		j, err = scanJob(q.QueryRow(ctx, `SELECT `+jobColumns+` FROM analysis_jobs WHERE id = $1`, id))
	}
	if err != nil {
		return j, fmt.Errorf("start job %d: %w", id, err)
	}
	return j, nil
}

// SettleJobTx records a job's outcome inside the transaction that
// publishes it, under the key's lock. It returns analysis.ErrSuperseded
// when a newer upload replaced the job meanwhile: the caller rolls back.
func SettleJobTx(ctx context.Context, tx pgx.Tx, id int64, status, reason, lastError string) error {
	var bucket, key string
	if err := tx.QueryRow(ctx, `SELECT bucket, object_key FROM analysis_jobs WHERE id = $1`, id).Scan(&bucket, &key); err != nil {
		return fmt.Errorf("settle job %d: %w", id, err)
	}
	if err := LockKeyTx(ctx, tx, bucket, key); err != nil {
		return err
	}
	var cur string
	if err := tx.QueryRow(ctx, `SELECT status FROM analysis_jobs WHERE id = $1`, id).Scan(&cur); err != nil {
		return fmt.Errorf("settle job %d: %w", id, err)
	}
	if cur == analysis.JobSuperseded {
		return analysis.ErrSuperseded
	}
	_, err := tx.Exec(ctx, `UPDATE analysis_jobs SET status = $2, reason = $3, last_error = coalesce($4, last_error), finished_at = now()
		WHERE id = $1`, id, status, nullable(reason), nullable(lastError))
	if err != nil {
		return fmt.Errorf("settle job %d: %w", id, err)
	}
	return nil
}

// FinishJob sets the outcome of a running job outside a publishing
// transaction (superseded, already analysed, or failed for good).
func FinishJob(ctx context.Context, q querier, id int64, status, reason, lastError string) error {
	_, err := q.Exec(ctx, `UPDATE analysis_jobs SET status = $2, reason = coalesce($3, reason), last_error = coalesce($4, last_error),
		finished_at = now() WHERE id = $1 AND status = 'running'`, id, status, nullable(reason), nullable(lastError))
	if err != nil {
		return fmt.Errorf("finish job %d: %w", id, err)
	}
	return nil
}

// JobAttemptFailed records the error of an attempt that will be retried.
func JobAttemptFailed(ctx context.Context, q querier, id int64, lastError string) error {
	_, err := q.Exec(ctx, `UPDATE analysis_jobs SET status = 'queued', last_error = $2 WHERE id = $1 AND status = 'running'`, id, lastError)
	if err != nil {
		return fmt.Errorf("record attempt of job %d: %w", id, err)
	}
	return nil
}

// RequeueJobTx makes a failed job queued again (an operator's retry).
func RequeueJobTx(ctx context.Context, tx pgx.Tx, id int64) (analysis.Job, error) {
	j, err := scanJob(tx.QueryRow(ctx, `UPDATE analysis_jobs SET status = 'queued', finished_at = NULL, attempts = 0
		WHERE id = $1 AND status = 'failed' RETURNING `+jobColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, fmt.Errorf("job %d is not a failed job", id)
	}
	return j, err
}

// GetJob returns one job.
func GetJob(ctx context.Context, q querier, id int64) (analysis.Job, error) {
	j, err := scanJob(q.QueryRow(ctx, `SELECT `+jobColumns+` FROM analysis_jobs WHERE id = $1`, id))
	if err != nil {
		return j, fmt.Errorf("job %d: %w", id, err)
	}
	return j, nil
}

// ListJobs returns the latest jobs, newest first, with any of the given
// statuses (all when none).
func ListJobs(ctx context.Context, q queryer, limit int, statuses ...string) ([]analysis.Job, error) {
	where := ""
	args := []any{limit}
	if len(statuses) > 0 {
		where, args = "WHERE status = ANY($2)", append(args, statuses)
	}
	return queryAll(ctx, q, "list jobs", scanJob, `SELECT `+jobColumns+` FROM analysis_jobs `+where+` ORDER BY id DESC LIMIT $1`, args...)
}

// QueueStats is the operator's view of the queue.
type QueueStats struct {
	Counts       map[string]int64 // by status
	OldestQueued time.Duration    // age of the oldest queued job; 0 when none
}

// JobStats counts jobs by status and ages the oldest queued one.
func JobStats(ctx context.Context, q queryer) (QueueStats, error) {
	s := QueueStats{Counts: map[string]int64{}}
	rows, err := q.Query(ctx, `SELECT status, count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
		FROM analysis_jobs GROUP BY status`)
	if err != nil {
		return s, fmt.Errorf("queue stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		var age float64
		if err := rows.Scan(&st, &n, &age); err != nil {
			return s, fmt.Errorf("queue stats: %w", err)
		}
		s.Counts[st] = n
		if st == analysis.JobQueued {
			s.OldestQueued = time.Duration(age * float64(time.Second))
		}
	}
	return s, rows.Err()
}

// OwnerShare is what the per-user cap needs of a River job about to
// run in a queue (lane): the owner's analyze jobs running there that were
// taken before it (lower id, so two jobs of one user taken together agree
// on which waits), and whether a job of another user under the cap is
// waiting there, ready to run. The cap holds a user back only for such a
// job, so a lone user's files use every slot, and no job waits for users
// who are themselves at the cap.
func OwnerShare(ctx context.Context, q querier, kind, queue, owner string, riverID int64, limit int) (running int, othersReady bool, err error) {
	err = q.QueryRow(ctx, `WITH busy AS (
			SELECT args->>'owner' AS owner, count(*) AS n FROM river_job
			WHERE state = 'running' AND kind = $1 AND queue = $2 GROUP BY 1)
		SELECT
			(SELECT count(*) FROM river_job WHERE state = 'running' AND kind = $1 AND queue = $2 AND args->>'owner' = $3 AND id < $4),
			EXISTS (SELECT 1 FROM river_job j WHERE j.state = 'available' AND j.kind = $1 AND j.queue = $2 AND j.scheduled_at <= now()
				AND j.args->>'owner' IS DISTINCT FROM $3
				AND NOT EXISTS (SELECT 1 FROM busy b WHERE b.owner = j.args->>'owner' AND b.n >= $5))`,
		kind, queue, owner, riverID, limit).Scan(&running, &othersReady)
	if err != nil {
		return 0, false, fmt.Errorf("share of %s: %w", owner, err)
	}
	return running, othersReady, nil
}

// QueuedForOwner counts the owner's jobs waiting, for insert priorities.
func QueuedForOwner(ctx context.Context, q querier, owner string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM analysis_jobs WHERE owner = $1 AND status IN ('queued', 'running')`, owner).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("queued jobs of %s: %w", owner, err)
	}
	return n, nil
}

// LatestJobs returns the newest unsettled job (queued, running, or
// failed) of each key that has one and no newer catalog run: what `list`
// shows while a file is in progress.
func LatestJobs(ctx context.Context, q queryer, bucket string, keys []string) (map[string]analysis.Job, error) {
	out := map[string]analysis.Job{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (object_key) `+jobColumns+` FROM analysis_jobs
		WHERE bucket = $1 AND object_key = ANY($2) AND status <> 'superseded'
		ORDER BY object_key, id DESC`, bucket, keys)
	if err != nil {
		return nil, fmt.Errorf("latest jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("latest jobs: %w", err)
		}
		if j.Status == analysis.JobQueued || j.Status == analysis.JobRunning || j.Status == analysis.JobFailed {
			out[j.Key] = j
		}
	}
	return out, rows.Err()
}

// StorableKey makes an untrusted key storable as text (PostgreSQL refuses
// NUL) and bounded, for recording refused events.
func StorableKey(key string) string {
	key = strings.ToValidUTF8(strings.ReplaceAll(key, "\x00", `\x00`), "?")
	if len(key) > 1100 {
		key = strings.ToValidUTF8(key[:1100], "") + "…"
	}
	return key
}

// RenewLease keeps a running River job from being rescued while its worker
// is alive: River's rescuer takes back running jobs attempted longer ago
// than its RescueStuckJobsAfter, so a worker that renews attempted_at holds
// a lease, and a killed one loses it after that time.
func RenewLease(ctx context.Context, q querier, riverID int64) error {
	_, err := q.Exec(ctx, `UPDATE river_job SET attempted_at = now() WHERE id = $1 AND state = 'running'`, riverID)
	if err != nil {
		return fmt.Errorf("renew lease of job %d: %w", riverID, err)
	}
	return nil
}

// QueueDepth counts the queued jobs and ages the oldest (for metrics; the
// partial index on open jobs keeps it cheap).
func QueueDepth(ctx context.Context, q querier) (int, time.Duration, error) {
	var n int
	var age float64
	err := q.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM analysis_jobs WHERE status = 'queued'`).Scan(&n, &age)
	if err != nil {
		return 0, 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, time.Duration(age * float64(time.Second)), nil
}

// SetJobTimings records where a job spent its time (JSON: seconds per
// phase), for operators and the queue benchmark.
func SetJobTimings(ctx context.Context, q querier, id int64, timings []byte) error {
	if _, err := q.Exec(ctx, `UPDATE analysis_jobs SET timings = $2 WHERE id = $1`, id, timings); err != nil {
		return fmt.Errorf("record timings of job %d: %w", id, err)
	}
	return nil
}

// ReconcileJobs settles the jobs River gave up on while their own record
// could not be written (PostgreSQL down through the last attempt: the row
// stayed queued or running). Such a job's River job is discarded (or
// cancelled); the row becomes failed with River's last error. It returns
// how many it settled.
func ReconcileJobs(ctx context.Context, q querier) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE analysis_jobs a SET status = 'failed', reason = 'retries exhausted',
		last_error = coalesce(r.errors[array_upper(r.errors, 1)]->>'error', a.last_error, 'the queue gave up on the job'),
		finished_at = coalesce(r.finalized_at, now())
		FROM river_job r
		WHERE r.id = a.river_job_id AND a.status IN ('queued', 'running') AND r.state IN ('discarded', 'cancelled')`)
	if err != nil {
		return 0, fmt.Errorf("reconcile jobs: %w", err)
	}
	return tag.RowsAffected(), nil
}

package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"golang.org/x/sync/semaphore"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/postgres"
)

// WorkerConfig configures the workers of one process.
type WorkerConfig struct {
	// Pool is the workers' own pool (see PoolSize), apart from the
	// functions' pool so analysis load cannot starve logins.
	Pool     *pgxpool.Pool
	Settings Settings
	// NewProcessor builds the processor of one worker slot: each has its
	// own analysis engine, so slots never wait for each other.
	NewProcessor func() (*analyzer.Processor, error)
	// AfterAnalysed runs after a file is analysed and its table and
	// catalog row are committed (status done), once per job, in the
	// workers' background (in job order, one at a time), so a worker
	// takes its next job at once. A hook still pending when the workers
	// stop is dropped: it must be best effort (the results function
	// files what it missed).
	AfterAnalysed func(ctx context.Context, job analysis.Job, out analyzer.Outcome)
}

// PoolSize is the connection count the workers need: one per running
// analysis (its publishing transaction), one for its lease renewals and
// status updates, and River's own (listener, fetches, leader, maintenance).
func PoolSize(s Settings) int32 {
	_ = s.normalise()
	return int32(2*s.slots() + 6)
}

// Workers run analyses from the queue.
type Workers struct {
	client    *river.Client[pgx.Tx]
	w         *worker
	reconcile context.CancelFunc
	reconDone chan struct{}
	hookStop  context.CancelFunc
	hooksDone chan struct{}
}

type worker struct {
	river.WorkerDefaults[Args]
	cfg          WorkerConfig
	s            Settings
	small, large *semaphore.Weighted // memory budget of each lane
	smallCap     int64
	largeCap     int64
	procs        map[string]chan *analyzer.Processor // each lane's engines
	hooks        chan hookCall                       // for the background's AfterAnalysed
	hookMu       sync.Mutex
	hooksClosed  bool
	// The small lane's analyses running, and when the last one ended
	// (unix ns): the background's hooks yield to them (hookMayRun).
	smallRunning atomic.Int64
	smallEnded   atomic.Int64
	warmed       chan struct{} // closed once warm has given its engines back
}

type hookCall struct {
	job    analysis.Job
	out    analyzer.Outcome
	t      Timings
	queued time.Time
}

// A hook (results' filing and Parquet copies) costs about as much CPU as
// a small file's analysis. In a burst the hooks would take CPU from the
// small files still queued, so the background defers them while the
// small lane is busy, until it has been quiet for hookQuiet or the hook
// has waited hookMaxDefer (a steady stream of uploads cannot starve them).
const (
	hookQuiet    = 50 * time.Millisecond
	hookMaxDefer = 10 * time.Second
)

// hookMayRun says whether a hook queued at queued may run at now, with
// running small-lane analyses and the last one ended at lastEnd.
func hookMayRun(running int64, lastEnd, queued, now time.Time) bool {
	if now.Sub(queued) >= hookMaxDefer {
		return true
	}
	return running == 0 && now.Sub(lastEnd) >= hookQuiet
}

// yieldToSmall waits until the hook c may run, or ctx ends.
func (w *worker) yieldToSmall(ctx context.Context, c hookCall) {
	for !hookMayRun(w.smallRunning.Load(), time.Unix(0, w.smallEnded.Load()), c.queued, time.Now()) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// maxPendingHooks bounds the hooks waiting for the background; beyond,
// a worker runs its hook itself (back pressure).
const maxPendingHooks = 256

// StartWorkers starts the workers; Stop ends them.
func StartWorkers(ctx context.Context, cfg WorkerConfig) (*Workers, error) {
	s := cfg.Settings
	if err := s.normalise(); err != nil {
		return nil, err
	}
	small, large := s.laneWorkers()
	// The small lane keeps a reserve of the budget, so a big file's
	// estimate never makes small files wait.
	smallCap := min(int64(s.MemoryBudget)/2, int64(small)*s.Need(int64(s.SmallBytes)))
	w := &worker{cfg: cfg, s: s, smallCap: smallCap, largeCap: int64(s.MemoryBudget) - smallCap,
		procs: map[string]chan *analyzer.Processor{LaneSmall: make(chan *analyzer.Processor, small), LaneLarge: make(chan *analyzer.Processor, large)},
		hooks: make(chan hookCall, maxPendingHooks)}
	w.small, w.large = semaphore.NewWeighted(w.smallCap), semaphore.NewWeighted(w.largeCap)
	for lane, n := range map[string]int{LaneSmall: small, LaneLarge: large} {
		for range n {
			w.procs[lane] <- nil // built on first use
		}
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		Queues: map[string]river.QueueConfig{
			LaneSmall: {MaxWorkers: small},
			LaneLarge: {MaxWorkers: large},
		},
		Workers: workers,
		// River rescues a running job only once its timeout has passed
		// since attempted_at, which the lease renews; the job's real
		// time limit (ANALYZE_JOB_TIMEOUT) is applied by Work.
		JobTimeout:           s.Lease.D(),
		RescueStuckJobsAfter: s.Lease.D(),
		RetryPolicy:          retryPolicy{base: s.RetryBase.D(), max: s.RetryMax.D()},
		MaxAttempts:          s.MaxAttempts,
		// A small file takes ~0.1 s: River's default 100 ms between
		// fetches would be a large part of it. A freed slot fetches the
		// next job at once; polls are the fallback (and all there is
		// without LISTEN/NOTIFY).
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: fetchPollInterval,
		PollOnly:          s.PollOnly,
		Logger:            quietLogger(),
	})
	if err != nil {
		return nil, fmt.Errorf("queue workers: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start queue workers: %w", err)
	}
	slog.Info("analysis workers started", "slots", s.slots(), "small", small, "large", large, "memory_budget", int64(s.MemoryBudget),
		"user_concurrency", s.UserConcurrency, "max_attempts", s.MaxAttempts)
	w.warmed = make(chan struct{})
	go func() {
		defer close(w.warmed)
		w.warm(small)
	}()
	ws := &Workers{client: client, w: w, reconDone: make(chan struct{}), hooksDone: make(chan struct{})}
	var rctx, hctx context.Context
	rctx, ws.reconcile = context.WithCancel(context.WithoutCancel(ctx))
	go ws.reconcileLoop(rctx, cfg.Pool, s.Reconcile.D())
	hctx, ws.hookStop = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(ws.hooksDone)
		for c := range w.hooks {
			w.yieldToSmall(hctx, c)
			w.after(hctx, c)
		}
	}()
	return ws, nil
}

// reconcileLoop settles, now and then, the jobs River gave up on while
// their rows could not be written (postgres.ReconcileJobs): a job whose
// last attempt failed with PostgreSQL down ends failed once it is back.
func (ws *Workers) reconcileLoop(ctx context.Context, pool *pgxpool.Pool, every time.Duration) {
	defer close(ws.reconDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := postgres.ReconcileJobs(ctx, pool)
		switch {
		case err != nil && ctx.Err() == nil:
			slog.Warn("analysis jobs: reconcile", "error", err)
		case n > 0:
			slog.Warn("analysis jobs: settled as failed after the queue gave up on them", "jobs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop lets running analyses finish until ctx ends, then cancels them
// (they are retried elsewhere), and releases the engines.
func (ws *Workers) Stop(ctx context.Context) error {
	ws.reconcile()
	<-ws.reconDone
	err := ws.client.Stop(ctx)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = ws.client.StopAndCancel(cctx)
		cancel()
	}
	// The hooks already queued run until ctx ends.
	ws.w.hookMu.Lock()
	ws.w.hooksClosed = true
	close(ws.w.hooks)
	ws.w.hookMu.Unlock()
	select {
	case <-ws.hooksDone:
	case <-ctx.Done():
		ws.hookStop()
		<-ws.hooksDone
	}
	ws.hookStop()
	<-ws.w.warmed // it holds engines until they are built
	for _, procs := range ws.w.procs {
		close(procs)
		for p := range procs {
			if p != nil {
				p.Analyzer.Close()
			}
		}
	}
	return err
}

// Timeout is the lease: see JobTimeout above.
func (w *worker) Timeout(*river.Job[Args]) time.Duration { return w.s.Lease.D() }

// Work analyses one job.
func (w *worker) Work(ctx context.Context, rj *river.Job[Args]) error {
	ctx, done := withoutDeadline(ctx)
	defer done()
	a := rj.Args
	pool := w.cfg.Pool
	if a.Owner != "" {
		// The cap counts the user's analyses in this job's lane only: a
		// user's big file never holds back their small ones.
		n, othersReady, err := postgres.OwnerShare(ctx, pool, Kind, rj.Queue, a.Owner, rj.ID, w.s.UserConcurrency)
		if err != nil {
			return err
		}
		if n >= w.s.UserConcurrency && othersReady {
			// The user has their share running and another user's job
			// can go first; back soon (a small file takes ~0.05 s).
			return river.JobSnooze(time.Duration(100+rand.IntN(200)) * time.Millisecond)
		}
	}
	begun := time.Now()
	t := Timings{Snoozes: snoozes(rj.Metadata)}
	job, err := postgres.StartJob(ctx, pool, a.JobID)
	if err != nil {
		return err
	}
	if job.Terminal() {
		return nil // superseded before it started, or settled by an attempt killed after its commit
	}
	t.Wait = begun.Sub(job.CreatedAt).Seconds()
	if rj.AttemptedAt != nil {
		t.Pickup = max(0, rj.AttemptedAt.Sub(rj.ScheduledAt).Seconds())
	}
	stopLease := w.renewLease(ctx, rj.ID)
	defer stopLease()
	out, err := w.analyse(ctx, rj, job, &t)
	if err != nil {
		return w.attemptFailed(rj, job, err)
	}
	// The publishing transaction settled the job; these cover outcomes
	// that publish nothing.
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	switch out.Status {
	case analyzer.StatusSuperseded:
		err = postgres.FinishJob(fctx, pool, job.ID, analysis.JobSuperseded, out.Reason, "")
	case analysis.StatusFailed:
		err = postgres.FinishJob(fctx, pool, job.ID, analysis.JobFailed, out.Reason, out.Reason)
	default:
		err = postgres.FinishJob(fctx, pool, job.ID, analysis.JobAnalysed, out.Reason, "")
	}
	if err != nil {
		return err // retried: the next attempt finds the job settled or finishes it
	}
	slog.Info("analysis job", "job", job.ID, "object", job.Key, "lane", rj.Queue, "attempt", rj.Attempt, "status", out.Status,
		"table", out.Table, "reason", out.Reason, "seconds", t.Lookup+t.Download+t.Transform+t.Publish, "queued_seconds", t.Wait)

	// After a file is analysed and committed: the one place for what
	// follows an analysis, in the background, so the next file's table
	// does not wait for this one's exports.
	c := hookCall{job: job, out: out, t: t, queued: time.Now()}
	w.hookMu.Lock()
	queued := false
	if !w.hooksClosed {
		select {
		case w.hooks <- c:
			queued = true
		default:
		}
	}
	w.hookMu.Unlock()
	if !queued {
		w.after(ctx, c)
	}
	return nil
}

// after runs the after-analysis hook of a done job and records the job's
// timings.
func (w *worker) after(ctx context.Context, c hookCall) {
	if c.out.Status == analysis.StatusDone && w.cfg.AfterAnalysed != nil && ctx.Err() == nil {
		phase := time.Now()
		w.cfg.AfterAnalysed(ctx, c.job, c.out)
		c.t.After = time.Since(phase).Seconds()
	}
	w.recordTimings(c.job.ID, c.t)
}

// analyse runs the analysis of a started job with its memory estimate
// reserved and a slot's engine.
func (w *worker) analyse(ctx context.Context, rj *river.Job[Args], job analysis.Job, t *Timings) (analyzer.Outcome, error) {
	sem, lcap := w.small, w.smallCap
	if rj.Queue == LaneLarge {
		sem, lcap = w.large, w.largeCap
	}
	// River runs at most a lane's slots at once (its MaxWorkers): what
	// is left to wait for is the memory budget.
	phase := time.Now()
	need := min(w.s.Need(job.Size), lcap)
	if err := sem.Acquire(ctx, need); err != nil {
		return analyzer.Outcome{}, err
	}
	defer sem.Release(need)
	t.Slot = time.Since(phase).Seconds()

	phase = time.Now()
	lane := LaneSmall
	if rj.Queue == LaneLarge {
		lane = LaneLarge
	}
	proc, err := w.take(lane)
	defer func() { w.give(lane, proc) }()
	if err != nil {
		return analyzer.Outcome{}, err
	}
	t.Engine = time.Since(phase).Seconds()
	if lane == LaneSmall {
		w.smallRunning.Add(1)
		defer func() {
			w.smallEnded.Store(time.Now().UnixNano())
			w.smallRunning.Add(-1)
		}()
	}
	tctx, cancel := context.WithTimeout(ctx, w.s.JobTimeout.D())
	defer cancel()
	out, err := proc.Process(tctx, analyzer.Object{Bucket: job.Bucket, Key: job.Key, ETag: job.ETag, Size: job.Size, JobID: job.ID},
		analyzer.ProcessOptions{RetryFailed: true}) // a job runs again only when its last attempt did not settle it, or an operator retried it
	t.Timings = out.Timings
	return out, err
}

// Timings are where one job spent its time, in seconds: recorded on its
// analysis_jobs row (timings) once it is done.
type Timings struct {
	// Wait: from the enqueue to the start of the attempt that did the
	// work (fetch latency, snoozes under the per-user cap, retries).
	Wait float64 `json:"wait"`
	// Pickup: from when River could run the attempt to when it took it.
	Pickup  float64 `json:"pickup"`
	Snoozes int64   `json:"snoozes"`
	Slot    float64 `json:"slot"`   // waiting for the memory budget
	Engine  float64 `json:"engine"` // the slot's engine, built on its first use
	analyzer.Timings
	After float64 `json:"after"` // the after-analysis hook
}

func (w *worker) recordTimings(id int64, t Timings) {
	b, _ := json.Marshal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := postgres.SetJobTimings(ctx, w.cfg.Pool, id, b); err != nil {
		slog.Warn("analysis job timings", "job", id, "error", err)
	}
}

func snoozes(metadata []byte) int64 {
	var m struct {
		Snoozes int64 `json:"snoozes"`
	}
	_ = json.Unmarshal(metadata, &m)
	return m.Snoozes
}

// attemptFailed records a transient failure: the job is retried with
// backoff, or, at its last attempt, kept as failed with the error.
func (w *worker) attemptFailed(rj *river.Job[Args], job analysis.Job, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := cause.Error()
	var err error
	if rj.Attempt >= rj.MaxAttempts {
		err = postgres.FinishJob(ctx, w.cfg.Pool, job.ID, analysis.JobFailed, "retries exhausted", msg)
	} else {
		err = postgres.JobAttemptFailed(ctx, w.cfg.Pool, job.ID, msg)
	}
	slog.Warn("analysis job attempt failed", "job", job.ID, "object", job.Key, "attempt", rj.Attempt,
		"max_attempts", rj.MaxAttempts, "error", msg)
	return errors.Join(cause, err)
}

// renewLease renews the job's lease until the returned stop is called.
func (w *worker) renewLease(ctx context.Context, riverID int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(w.s.Lease.D()/4, 250*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := postgres.RenewLease(ctx, w.cfg.Pool, riverID); err != nil && ctx.Err() == nil {
					slog.Warn("analysis job lease", "river_job", riverID, "error", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// take takes an engine of the lane, built on its first use.
func (w *worker) take(lane string) (*analyzer.Processor, error) {
	p := <-w.procs[lane]
	if p != nil {
		return p, nil
	}
	return w.cfg.NewProcessor()
}

func (w *worker) give(lane string, p *analyzer.Processor) {
	w.procs[lane] <- p
}

// warm builds the small lane's n engines at start, so a burst's first
// files do not pay for them (about 0.1 s each, and their HDF5 children).
func (w *worker) warm(n int) {
	procs := make([]*analyzer.Processor, 0, n)
	for range n {
		p, err := w.take(LaneSmall)
		if err != nil {
			slog.Warn("analysis workers: engine", "error", err) // its first job builds it again
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		w.give(LaneSmall, p)
	}
}

// withoutDeadline follows ctx's cancellation (the client stopping) but not
// its deadline, which is River's view of the lease, not a time limit. Call
// done when the work returns.
func withoutDeadline(parent context.Context) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	go func() {
		select {
		case <-parent.Done():
			if !errors.Is(parent.Err(), context.DeadlineExceeded) {
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

//go:build integration

package queue_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/devserver"
)

// TestQueueOutcomes: each way a job can end, on real PostgreSQL and MinIO
// (transient store failures injected): analysed once; a permanent problem
// recorded once and not retried; a transient one retried, then analysed;
// retries exhausted kept as failed with the last error, then retried by
// an operator; an older version superseded by a newer upload of the key
// before it ran; a replayed event a no-op.
func TestQueueOutcomes(t *testing.T) {
	h := newHarness(t, "")
	h.users("alice")
	h.put("alice/good.h5", fixture(t, "12345_batch_node01.h5"))
	h.put("alice/bad.h5", fixture(t, "truncated.h5"))
	h.put("alice/flaky.h5", fixture(t, "12352_0_multi_root.h5"))
	h.put("alice/down.h5", fixture(t, "12347_0_node02.h5"))
	h.put("alice/twice.h5", fixture(t, "12348_0_node03.h5"))
	h.objects.set("alice/flaky.h5", 2)
	h.objects.set("alice/down.h5", -1)
	for _, k := range []string{"alice/good.h5", "alice/bad.h5", "alice/flaky.h5", "alice/down.h5", "alice/twice.h5"} {
		if d := h.deliver(k); d.Status != analysis.JobQueued {
			t.Fatalf("%s: %+v", k, d)
		}
	}
	// A newer upload of twice.h5 before any worker ran.
	h.put("alice/twice.h5", fixture(t, "12349_0_node04.h5"))
	if d := h.deliver("alice/twice.h5"); d.Status != analysis.JobQueued {
		t.Fatalf("new version: %+v", d)
	}
	h.workers(testSettings(), 0)
	h.settled(45 * time.Second)

	for _, c := range []struct {
		key, status string
		attempts    int
		runs        string
	}{
		{"alice/good.h5", analysis.JobAnalysed, 1, "done"},
		{"alice/bad.h5", analysis.JobAnalysed, 1, "skipped/unreadable"},
		{"alice/flaky.h5", analysis.JobAnalysed, 3, "done"},
		{"alice/down.h5", analysis.JobFailed, 3, ""},
		{"alice/twice.h5", analysis.JobAnalysed, 1, "done"},
	} {
		j := h.job(c.key)
		var got []string
		for _, r := range h.runs(c.key) {
			s := r.Status
			if r.SkipClass != "" {
				s += "/" + r.SkipClass
			}
			got = append(got, s)
		}
		if j.Status != c.status || j.Attempts != c.attempts || strings.Join(got, ",") != c.runs {
			t.Errorf("%s: job %s after %d attempts (%q), runs %v; want %s after %d, runs %s", c.key, j.Status, j.Attempts, j.LastError, got, c.status, c.attempts, c.runs)
		}
	}
	if j := h.job("alice/down.h5"); !strings.Contains(j.LastError, "unavailable") || j.Reason != "retries exhausted" {
		t.Errorf("failed job: %+v", j)
	}
	var superseded int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM analysis_jobs WHERE object_key = 'alice/twice.h5' AND status = 'superseded'`).Scan(&superseded); err != nil || superseded != 1 {
		t.Errorf("older version of twice.h5: %d superseded, %v", superseded, err)
	}
	// The failed job's store is back: an operator retries it.
	h.objects.set("alice/down.h5", 0)
	if _, err := h.q.Retry(context.Background(), h.job("alice/down.h5").ID); err != nil {
		t.Fatal(err)
	}
	h.settled(30 * time.Second)
	if j, r := h.job("alice/down.h5"), h.runs("alice/down.h5"); j.Status != analysis.JobAnalysed || len(r) != 1 {
		t.Errorf("retried job: %+v, runs %v", j, r)
	}
	// Replays change nothing.
	for _, k := range []string{"alice/good.h5", "alice/bad.h5"} {
		if d := h.deliver(k); d.Status != analysis.JobAnalysed || d.Reason != "already recorded" {
			t.Errorf("replay of %s: %+v", k, d)
		}
	}
	h.settled(10 * time.Second)
	if n := len(h.runs("alice/good.h5")); n != 1 {
		t.Errorf("%d runs of good.h5 after a replay", n)
	}
}

// finishOrder lists the keys by when their catalog row was written.
func (h *harness) finishOrder() []string {
	return query(h, pgx.RowTo[string], `SELECT object_key FROM analysis_runs ORDER BY finished_at, id`)
}

// TestQueueFairness: a user's burst queued first does not starve another
// user who uploads after it: the other user's files are done before the
// burst's second half (per-user cap, and the burst's tail enqueued at
// lower priorities).
func TestQueueFairness(t *testing.T) {
	h := newHarness(t, "")
	h.users("burst", "other")
	small := fixture(t, "12345_batch_node01.h5")
	const n = 24
	h.uploadMany("burst", n, small)
	for _, k := range []string{"other/x.h5", "other/y.h5", "other/z.h5"} {
		h.put(k, small)
		h.deliver(k)
	}
	h.workers(testSettings(), 0)
	h.settled(50 * time.Second)
	order := h.finishOrder()
	if len(order) != n+3 {
		t.Fatalf("%d runs, want %d", len(order), n+3)
	}
	last := 0
	for i, k := range order {
		if strings.HasPrefix(k, "other/") {
			last = i
		}
	}
	if last >= n/2 {
		t.Errorf("the other user's last file finished at position %d of %d: %v", last+1, len(order), order)
	}
}

// TestQueueCapIsWorkConserving: the per-user cap (1 here, with 2
// small-lane slots) holds a user back only for another user's job that
// could run. A lone user's files are never snoozed, and their jobs use
// both slots (each publish is held so they would overlap).
func TestQueueCapIsWorkConserving(t *testing.T) {
	h := newHarness(t, "")
	h.users("alone")
	small := fixture(t, "12345_batch_node01.h5")
	const n = 6
	h.uploadMany("alone", n, small)
	h.workers(testSettings(), 300*time.Millisecond)
	h.settled(40 * time.Second)
	var jobs, snoozed int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE (timings->>'snoozes')::int > 0)
		FROM analysis_jobs WHERE status = 'analysed'`).Scan(&jobs, &snoozed); err != nil {
		t.Fatal(err)
	}
	if jobs != n || snoozed != 0 {
		t.Fatalf("%d jobs analysed (want %d), %d of them snoozed by the cap (want 0)", jobs, n, snoozed)
	}
}

// TestQueueSmallFilesNotBehindBigOne: a big upload (above the small lane's
// size) and then small uploads of several users. The big file's transfer
// lasts until every small file is analysed: were a small file queued
// behind the big one, it would never finish. Then the big one finishes
// last.
func TestQueueSmallFilesNotBehindBigOne(t *testing.T) {
	h := newHarness(t, "")
	h.users("bigfiles", "user1", "user2", "user3")
	h.put("bigfiles/huge.h5", fixture(t, "12346_job_merged.h5")) // 62 KB > SmallBytes (20 KiB)
	gate := make(chan struct{})
	h.objects.gate["bigfiles/huge.h5"] = gate
	h.deliver("bigfiles/huge.h5")
	var small []string
	for _, u := range []string{"user1", "user2", "user3"} {
		for _, f := range []string{"a", "b", "c"} {
			k := u + "/" + f + ".h5"
			h.put(k, fixture(t, "12345_batch_node01.h5"))
			h.deliver(k)
			small = append(small, k)
		}
	}
	if j := h.job("bigfiles/huge.h5"); j.Lane != "analyze_large" {
		t.Fatalf("big file in lane %q", j.Lane)
	}
	s := testSettings()
	s.UserConcurrency = 2
	h.workers(s, 0)
	deadline := time.Now().Add(40 * time.Second)
	for _, k := range small {
		for len(h.runs(k)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s not analysed while a big file was in progress", k)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if j := h.job("bigfiles/huge.h5"); j.Status != analysis.JobRunning {
		t.Fatalf("big file %s while the small ones were analysed", j.Status)
	}
	close(gate)
	h.settled(30 * time.Second)
	order := h.finishOrder()
	if len(order) != len(small)+1 || order[len(order)-1] != "bigfiles/huge.h5" {
		t.Fatalf("finish order %v: the big file must finish last", order)
	}
}

// TestQueueMemoryBudget: with room for one big analysis in the budget,
// big files run one at a time although the large lane has two workers
// (each download is held a while so they would overlap otherwise).
func TestQueueMemoryBudget(t *testing.T) {
	h := newHarness(t, "")
	h.users("budget")
	for _, f := range []string{"a", "b", "c"} {
		h.put("budget/"+f+".h5", fixture(t, "12346_job_merged.h5")) // large lane
		h.deliver("budget/" + f + ".h5")
	}
	h.objects.hold = 700 * time.Millisecond
	s := testSettings()
	s.Concurrency, s.UserConcurrency = 4, 4 // large lane: 2 workers
	// Small lane reserve: half the budget; each big job's estimate is
	// clamped to the other half, so one runs at a time.
	s.MemoryBudget, s.MemoryBase = 200<<20, 90<<20
	h.workers(s, 0)
	h.settled(40 * time.Second)
	for _, f := range []string{"a", "b", "c"} {
		if r := h.runs("budget/" + f + ".h5"); len(r) != 1 || r[0].Status != "done" {
			t.Errorf("%s: %v", f, r)
		}
	}
	if h.objects.maxInflight != 1 {
		t.Errorf("%d big analyses at once within a budget for one", h.objects.maxInflight)
	}
}

// TestQueueWorkerKilled: a worker killed with SIGKILL in the middle of an
// analysis (before its commit) loses nothing: after its lease runs out
// another worker takes the job again and it ends with exactly one table
// and one catalog row.
func TestQueueWorkerKilled(t *testing.T) {
	h := newHarness(t, "")
	h.users("victim")
	key := "victim/run.h5"
	h.put(key, fixture(t, "12352_0_multi_root.h5"))
	h.deliver(key)

	conf, _ := json.Marshal(childConfig{DatabaseURL: h.url, Bucket: h.bucket, Settings: testSettings(), SlowPublish: 3 * time.Second})
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(conf))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start()
	deadline := time.Now().Add(30 * time.Second)
	for h.job(key).Status != analysis.JobRunning {
		if time.Now().After(deadline) {
			t.Fatal("the job never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // inside the analysis, before its commit
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if n := len(h.runs(key)); n != 0 {
		t.Fatalf("%d runs right after the kill", n)
	}
	second := start()
	defer func() {
		_ = second.Process.Signal(os.Interrupt)
		_ = second.Process.Kill()
		_ = second.Wait()
	}()
	h.settled(50 * time.Second)
	j := h.job(key)
	if j.Status != analysis.JobAnalysed || j.Attempts != 2 {
		t.Fatalf("job after the kill: %+v", j)
	}
	if r := h.runs(key); len(r) != 1 || r[0].Status != "done" {
		t.Fatalf("runs after the kill: %v", r)
	}
	if n := h.tables("victim"); n != 1 {
		t.Fatalf("%d tables in the user's schema", n)
	}
}

// TestQueuePostgresRestartDuringAnalysis: PostgreSQL stops while analyses
// are publishing and comes back: every file ends analysed exactly once.
func TestQueuePostgresRestartDuringAnalysis(t *testing.T) {
	pg := ownPostgres(t)
	h := newHarness(t, pg.URL)
	h.users("steady")
	var keys []string
	for _, f := range []string{"a", "b", "c", "d", "e", "f"} {
		k := "steady/" + f + ".h5"
		h.put(k, fixture(t, "12345_batch_node01.h5"))
		h.deliver(k)
		keys = append(keys, k)
	}
	s := testSettings()
	s.UserConcurrency = 2
	h.workers(s, time.Second)
	// Wait for the first commit, then take the database away mid-flight.
	deadline := time.Now().Add(30 * time.Second)
	for len(h.runs(keys[0]))+len(h.runs(keys[1])) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing analysed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	pg.restart(2 * time.Second)
	h.settled(50 * time.Second)
	for _, k := range keys {
		if r, j := h.runs(k), h.job(k); len(r) != 1 || r[0].Status != "done" || j.Status != analysis.JobAnalysed {
			t.Errorf("%s: runs %v, job %+v", k, r, j)
		}
	}
	if n := h.tables("steady"); n != len(keys) {
		t.Errorf("%d tables, want %d", n, len(keys))
	}
}

// TestQueuePostgresDownThroughLastAttempt: PostgreSQL goes away during a
// job's last attempt, so neither the attempt's failure nor the job's end
// can be written then. Once it is back the job ends failed with the last
// error (River's record of the discarded job, reconciled by the workers),
// never queued or running forever.
func TestQueuePostgresDownThroughLastAttempt(t *testing.T) {
	pg := ownPostgres(t)
	h := newHarness(t, pg.URL)
	h.users("flaky")

	// A job left queued when River gave up on it (its last attempt could
	// write nothing of its own): River's record says discarded.
	stale := "flaky/queued.h5"
	h.put(stale, fixture(t, "12345_batch_node01.h5"))
	if d := h.deliver(stale); d.Status != analysis.JobQueued {
		t.Fatalf("enqueue: %+v", d)
	}
	if _, err := h.pool.Exec(context.Background(), `UPDATE river_job SET state = 'discarded', finalized_at = now(), attempt = max_attempts,
		errors = ARRAY[jsonb_build_object('at', now(), 'attempt', max_attempts, 'error', 'publish: connection refused')] WHERE id = $1`,
		h.job(stale).RiverJobID); err != nil {
		t.Fatal(err)
	}

	key := "flaky/last.h5"
	h.put(key, fixture(t, "12345_batch_node01.h5"))
	h.deliver(key)
	h.objects.set(key, 2) // attempts 1 and 2 fail on the object store
	s := testSettings()
	s.Reconcile = config.Duration(300 * time.Millisecond)
	h.workers(s, 2*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for j := h.job(key); j.Status != analysis.JobRunning || j.Attempts != s.MaxAttempts; j = h.job(key) {
		if time.Now().After(deadline) {
			t.Fatalf("the last attempt never started: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pg.restart(2 * time.Second) // during the slow publish of the last attempt
	h.settled(40 * time.Second)
	if j := h.job(key); j.Status != analysis.JobFailed || j.LastError == "" || j.FinishedAt.IsZero() {
		t.Fatalf("job after its last attempt failed with PostgreSQL down: %+v", j)
	}
	if j := h.job(stale); j.Status != analysis.JobFailed || j.LastError != "publish: connection refused" {
		t.Fatalf("queued job River gave up on: %+v", j)
	}
	for _, k := range []string{key, stale} {
		if r := h.runs(k); len(r) != 0 {
			t.Fatalf("%s: runs %v", k, r)
		}
	}
}

// cluster is a PostgreSQL server of a test's own, which it can restart.
type cluster struct {
	t    *testing.T
	opts devserver.PostgresOptions
	pg   *devserver.Postgres
	URL  string
}

func ownPostgres(t *testing.T) *cluster {
	t.Helper()
	// Not t.TempDir: the postgres user must reach the cluster directory.
	dir, err := os.MkdirTemp("", "benchwrap-queue-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := devserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, opts: devserver.PostgresOptions{Dir: filepath.Join(dir, "pg"), Port: port, Fast: true}}
	if c.pg, err = devserver.StartPostgres(context.Background(), c.opts); err != nil {
		t.Fatal(err)
	}
	c.URL = c.pg.URL
	t.Cleanup(func() { _ = c.pg.Stop() })
	return c
}

// restart stops the server, waits, and starts it again.
func (c *cluster) restart(down time.Duration) {
	c.t.Helper()
	if err := c.pg.Stop(); err != nil {
		c.t.Fatal(err)
	}
	time.Sleep(down)
	pg, err := devserver.StartPostgres(context.Background(), c.opts)
	if err != nil {
		c.t.Fatal(err)
	}
	c.pg = pg
}

// TestQueueListShowsProgress: while a file waits, the catalog's view for
// list shows it queued, with its time.
func TestQueueListShowsProgress(t *testing.T) {
	h := newHarness(t, "")
	h.users("lister")
	h.put("lister/a.h5", fixture(t, "12345_batch_node01.h5"))
	h.deliver("lister/a.h5")
	ctx := context.Background()
	runs, err := postgres.LatestRuns(ctx, h.pool, h.bucket.Name, []string{"lister/a.h5"})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := postgres.LatestJobs(ctx, h.pool, h.bucket.Name, []string{"lister/a.h5"})
	if err != nil {
		t.Fatal(err)
	}
	got := analysis.WithJobs(runs, jobs)["lister/a.h5"]
	if got.Status != analysis.JobQueued || got.QueuedAt == nil {
		t.Fatalf("%+v", got)
	}
	if n, age, err := postgres.QueueDepth(ctx, h.pool); err != nil || n != 1 || age <= 0 {
		t.Fatalf("queue depth %d, oldest %s, %v", n, age, err)
	}
	h.workers(testSettings(), 0)
	h.settled(30 * time.Second)
	runs, _ = postgres.LatestRuns(ctx, h.pool, h.bucket.Name, []string{"lister/a.h5"})
	jobs, _ = postgres.LatestJobs(ctx, h.pool, h.bucket.Name, []string{"lister/a.h5"})
	if got := analysis.WithJobs(runs, jobs)["lister/a.h5"]; got.Status != analysis.StatusDone || got.FinishedAt == nil {
		t.Fatalf("%+v", got)
	}
}

//go:build integration

package queue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	miniogo "github.com/minio/minio-go/v7"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/minio"
	"github.com/benchwrap/backend/shared/notification"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/queue"
	"github.com/benchwrap/backend/shared/storage"
	"github.com/benchwrap/backend/testkit/testenv"
)

// childEnv makes the test binary a worker process (for the SIGKILL test):
// its value is the JSON of a childConfig.
const childEnv = "BENCHWRAP_QUEUE_TEST_WORKER"

type childConfig struct {
	DatabaseURL string
	Bucket      testenv.Bucket
	Settings    queue.Settings
	SlowPublish time.Duration
}

func TestMain(m *testing.M) {
	if c := os.Getenv(childEnv); c != "" {
		os.Exit(runChild(c))
	}
	testenv.Main(m)
}

// runChild serves the queue until SIGTERM (or SIGKILL).
func runChild(conf string) int {
	var c childConfig
	if err := json.Unmarshal([]byte(conf), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if os.Getenv("ANALYZE_RIVER_LOG") == "debug" {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pool, err := postgres.OpenSized(ctx, c.DatabaseURL, queue.PoolSize(c.Settings))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	store, err := storeOf(c.Bucket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ws, err := queue.StartWorkers(ctx, queue.WorkerConfig{Pool: pool, Settings: c.Settings,
		NewProcessor: func() (*analyzer.Processor, error) { return newProcessor(pool, store, c.SlowPublish) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	<-ctx.Done()
	_ = ws.Stop(context.Background())
	return 0
}

func storeOf(b testenv.Bucket) (*minio.Store, error) {
	return minio.New(minio.Config{Endpoint: b.Endpoint, Bucket: b.Name, AccessKey: b.AccessKey, SecretKey: b.SecretKey})
}

// newProcessor is the analyze function's processor (compat mode), with a
// publish delay when asked: the window in which a test kills a worker or
// restarts PostgreSQL.
func newProcessor(pool *pgxpool.Pool, objects analyzer.ObjectStore, slowPublish time.Duration) (*analyzer.Processor, error) {
	a, err := analyzer.New(analyzer.Config{Mode: analysis.Compat, Engine: engine.Options{
		MaxRows: 10_000_000, Reader: hdf5.Options{MaxRows: 10_000_000, Isolate: true}}})
	if err != nil {
		return nil, err
	}
	var sink analyzer.Sink = postgres.Sink{Pool: pool}
	if slowPublish > 0 {
		sink = slowSink{sink, slowPublish}
	}
	return &analyzer.Processor{Analyzer: a, Sink: sink, Catalog: postgres.Catalog{Pool: pool}, Objects: objects,
		Owners: postgres.Accounts{Pool: pool}, MaxBytes: 1 << 30}, nil
}

type slowSink struct {
	analyzer.Sink
	d time.Duration
}

func (s slowSink) Publish(ctx context.Context, res *analysis.Result, rows analysis.RowSource, run *analysis.Run) error {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Sink.Publish(ctx, res, rows, run)
}

// faultyObjects fails the downloads of chosen keys with the object store's
// transient error, a given number of times (-1: always), and can hold
// others back (a transfer that lasts as long as the test needs);
// everything else goes to the real store.
type faultyObjects struct {
	analyzer.ObjectStore
	mu    sync.Mutex
	fails map[string]int
	gate  map[string]chan struct{} // downloads of the key wait until closed
	hold  time.Duration            // every download takes at least this long
	// downloads in flight, and the most at once
	inflight, maxInflight int
}

func (f *faultyObjects) Download(ctx context.Context, key, etag string, dst io.Writer, limit int64) (int64, error) {
	f.mu.Lock()
	n := f.fails[key]
	if n > 0 {
		f.fails[key] = n - 1
	}
	gate := f.gate[key]
	f.mu.Unlock()
	if n != 0 {
		return 0, fmt.Errorf("%s: %w: injected", key, storage.ErrUnavailable)
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	f.mu.Lock()
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	hold := f.hold
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inflight--; f.mu.Unlock() }()
	if hold > 0 {
		select {
		case <-time.After(hold):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return f.ObjectStore.Download(ctx, key, etag, dst, limit)
}

func (f *faultyObjects) set(key string, fails int) {
	f.mu.Lock()
	f.fails[key] = fails
	f.mu.Unlock()
}

// harness is one test's queue: a fresh database, a bucket of its own, the
// webhook's intake, and workers started on demand.
type harness struct {
	t       *testing.T
	url     string
	pool    *pgxpool.Pool
	bucket  testenv.Bucket
	store   *minio.Store
	objects *faultyObjects
	q       *queue.Queue
	in      *queue.Intake
	etags   map[string]string
}

func testSettings() queue.Settings {
	return queue.Settings{Concurrency: 2, MemoryBudget: 1 << 30, SmallBytes: 20 << 10, UserConcurrency: 1, MaxAttempts: 3,
		RetryBase: config.Duration(100 * time.Millisecond), RetryMax: config.Duration(300 * time.Millisecond),
		JobTimeout: config.Duration(time.Minute), Lease: config.Duration(2 * time.Second), MemoryFactor: 3, MemoryBase: 64 << 20}
}

func newHarness(t *testing.T, url string) *harness {
	t.Helper()
	if url == "" {
		url = testenv.PostgresURL(t)
	}
	ctx := context.Background()
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	b := testenv.NewBucket(t)
	store, err := storeOf(b)
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(pool, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, url: url, pool: pool, bucket: b, store: store, q: q, etags: map[string]string{},
		objects: &faultyObjects{ObjectStore: store, fails: map[string]int{}, gate: map[string]chan struct{}{}}}
	h.in = &queue.Intake{Queue: q, Objects: store, Owners: postgres.Accounts{Pool: pool}, Bucket: b.Name}
	return h
}

func (h *harness) users(names ...string) {
	for _, n := range names {
		if _, err := (postgres.Accounts{Pool: h.pool}).CreateUser(context.Background(), n, "x"); err != nil {
			h.t.Fatal(err)
		}
	}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.FixtureDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// put uploads an object (as a client would) and returns its ETag.
func (h *harness) put(key string, data []byte) string {
	h.t.Helper()
	info, err := h.bucket.Client(h.t).PutObject(context.Background(), h.bucket.Name, key, bytes.NewReader(data), int64(len(data)), miniogo.PutObjectOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.etags[key] = info.ETag
	return info.ETag
}

// deliver is MinIO's event for the key's last upload, through the intake.
func (h *harness) deliver(key string) queue.Decision {
	h.t.Helper()
	d, err := h.in.Accept(context.Background(), notification.Event{Name: "s3:ObjectCreated:Put", Bucket: h.bucket.Name, Key: key, ETag: h.etags[key]})
	if err != nil {
		h.t.Fatalf("deliver %s: %v", key, err)
	}
	return d
}

// uploadMany puts n copies of data under user's prefix (fa.h5, fb.h5,
// …) and delivers their events.
func (h *harness) uploadMany(user string, n int, data []byte) {
	for i := range n {
		k := user + "/f" + string(rune('a'+i)) + ".h5"
		h.put(k, data)
		h.deliver(k)
	}
}

func (h *harness) workers(s queue.Settings, slowPublish time.Duration) *queue.Workers {
	h.t.Helper()
	ctx := context.Background()
	wpool, err := postgres.OpenSized(ctx, h.url, queue.PoolSize(s))
	if err != nil {
		h.t.Fatal(err)
	}
	ws, err := queue.StartWorkers(ctx, queue.WorkerConfig{Pool: wpool, Settings: s,
		NewProcessor: func() (*analyzer.Processor, error) { return newProcessor(wpool, h.objects, slowPublish) }})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ws.Stop(ctx)
		wpool.Close()
	})
	return ws
}

// settled waits until no job is queued or running.
func (h *harness) settled(timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var open int
		err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM analysis_jobs WHERE status IN ('queued', 'running')`).Scan(&open)
		if err == nil && open == 0 {
			return
		}
		if time.Now().After(deadline) {
			var state string
			_ = h.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(format('%s %s attempt %s at %s sched %s errors %s', id, state, attempt, attempted_at, scheduled_at, errors), '; '), '')
				FROM river_job`).Scan(&state)
			var leader string
			_ = h.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(format('%s %s', leader_id, expires_at), '; '), '') FROM river_leader`).Scan(&leader)
			h.t.Fatalf("%d jobs still open after %s (%v); river jobs: %s; leader: %s; now %s", open, timeout, err, state, leader, time.Now().UTC())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *harness) job(key string) analysis.Job {
	h.t.Helper()
	var id int64
	if err := h.pool.QueryRow(context.Background(), `SELECT id FROM analysis_jobs WHERE object_key = $1 ORDER BY id DESC LIMIT 1`, key).Scan(&id); err != nil {
		h.t.Fatalf("job of %s: %v", key, err)
	}
	j, err := postgres.GetJob(context.Background(), h.pool, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

type run struct {
	Status, SkipClass string
	Finished          time.Time
}

// runs lists the catalog rows of a key.
func (h *harness) runs(key string) []run {
	h.t.Helper()
	return query(h, pgx.RowToStructByPos[run], `SELECT status, coalesce(skip_class, ''), finished_at FROM analysis_runs WHERE object_key = $1 ORDER BY id`, key)
}

// query reads the rows of a query on the harness's database, each with
// to (pgx.RowTo[string], pgx.RowToStructByPos[run], ...).
func query[T any](h *harness, to pgx.RowToFunc[T], sql string, args ...any) []T {
	h.t.Helper()
	rows, err := h.pool.Query(context.Background(), sql, args...)
	if err != nil {
		h.t.Fatal(err)
	}
	out, err := pgx.AppendRows([]T(nil), rows, to)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// tables counts the tables of a schema.
func (h *harness) tables(schema string) int {
	h.t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func short(key string) string { return key[strings.IndexByte(key, '/')+1:] }

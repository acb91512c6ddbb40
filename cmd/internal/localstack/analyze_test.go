package localstack

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/testenv"
)

var (
	fixtures = testenv.FixtureDir()
	expected = testenv.ExpectedDir()
)

var (
	poolOnce sync.Once
	dbPool   *pgxpool.Pool
)

// catalogPool is a connection pool to the stack's database.
func catalogPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	s := testStack(t)
	poolOnce.Do(func() {
		var err error
		if dbPool, err = postgres.Open(context.Background(), s.DatabaseURL); err != nil {
			t.Fatal(err)
		}
	})
	return dbPool
}

// fixture is the content of a file of the shared fixtures.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	return readFile(t, filepath.Join(fixtures, name))
}

// readFile is the content of the file at path; the test fails without it.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upload sends data through a presigned URL as the benchwrap client does
// and returns the object key.
func upload(t *testing.T, s *Stack, access, name string, data []byte) string {
	t.Helper()
	p := call(t, "POST", s.GatewayURL+"/api/storage/presign/upload?object_name="+url.QueryEscape(name)+"&benchmark_name=stream", nil, "Authorization", "Bearer "+access)
	expect(t, p, 200, "")
	if resp := put(t, p, data, "application/x-hdf5"); resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %s", name, resp.Status)
	}
	return p.Str(t, "key")
}

type runRow struct {
	ID        int64
	Status    string
	Schema    string
	Table     string
	Rows      int64
	ETag      string
	SkipClass string
	Finished  time.Time
}

// runs lists the finished catalog rows of a key, oldest first.
func runs(t testing.TB, key string) []runRow {
	t.Helper()
	return selectRows[runRow](t, `SELECT id, status, schema_name, coalesce(table_name, ''), coalesce(rows, 0),
		coalesce(etag, ''), coalesce(skip_class, ''), finished_at FROM analysis_runs WHERE object_key = $1 AND status <> 'running' ORDER BY id`, key)
}

// selectRows reads the rows of a query on the stack's database into T's
// fields, by position.
func selectRows[T any](t testing.TB, sql string, args ...any) []T {
	t.Helper()
	rows, err := catalogPool(t).Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// poll calls try every 100 ms until it reports done; after timeout the
// test fails, showing what try saw last.
func poll[T any](t testing.TB, what string, timeout time.Duration, try func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, done := try()
		if done {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after %s: %+v", what, timeout, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRuns waits until key has n finished runs.
func waitRuns(t testing.TB, key string, n int, timeout time.Duration) []runRow {
	t.Helper()
	return poll(t, fmt.Sprintf("%s: want %d runs", key, n), timeout, func() ([]runRow, bool) {
		r := runs(t, key)
		return r, len(r) >= n
	})
}

// table reads a table in its stored order.
func table(t testing.TB, schema, name string) ([]string, [][]any) {
	t.Helper()
	cols, rows, err := postgres.ReadTable(context.Background(), catalogPool(t), schema, name)
	if err != nil {
		t.Fatal(err)
	}
	return cols, rows
}

func expectTable(t *testing.T, schema, name, expectedCSV string) {
	t.Helper()
	cols, rows := table(t, schema, name)
	testenv.CompareCSV(t, filepath.Join(expected, expectedCSV), cols, rows)
}

// TestUploadIsAnalysed: register, presign, PUT a profile, and its table
// appears in the user's schema, equal to the original pipeline's output;
// list shows the outcome. Also for a nested key with characters that are
// URL-encoded in the event.
func TestUploadIsAnalysed(t *testing.T) {
	s := testStack(t)
	user, access := newUser(t, s, "an")
	key := upload(t, s, access, "12345_0_node01.h5", fixture(t, "12345_0_node01.h5"))
	r := waitRuns(t, key, 1, 60*time.Second)[0]
	if r.Status != "done" || r.Schema != user || r.Table != "job_12345_0_node01" || r.Rows != 302 {
		t.Fatalf("run %+v", r)
	}
	expectTable(t, user, "job_12345_0_node01", "12345_0_node01.h5.csv")

	l := call(t, "GET", s.GatewayURL+"/storage/list", nil, "Authorization", "Bearer "+access)
	expect(t, l, 200, "")
	obj := l.JSON(t)["objects"].([]any)[0].(map[string]any)
	a, ok := obj["analysis"].(map[string]any)
	if !ok || a["status"] != "done" || a["table"] != user+".job_12345_0_node01" || a["rows"] != 302.0 || a["energy_to_solution_j"] != 131008.0 {
		t.Errorf("list entry %v", obj)
	}

	// A nested key with a space, '+' and non-ASCII characters, written by
	// another tool straight into the bucket.
	nested := user + "/runs/run 001/ü+x.h5"
	data := fixture(t, "12345_batch_node01.h5")
	if _, err := bucket.Root(t).PutObject(context.Background(), bucket.Name, nested, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	r = waitRuns(t, nested, 1, 60*time.Second)[0]
	if r.Status != "done" || r.Table != "job_runs_run 001_ü+x" {
		t.Fatalf("nested run %+v", r)
	}
	expectTable(t, user, r.Table, "12345_batch_node01.h5.csv")
}

// TestSameNameTwoUsers: two users' files of one name make two tables.
func TestSameNameTwoUsers(t *testing.T) {
	s := testStack(t)
	var keys []string
	var users []string
	for i := 0; i < 2; i++ {
		u := testenv.Name("tw")[:12]
		access, _ := register(t, s.GatewayURL, u, "password-123")
		users = append(users, u)
		keys = append(keys, upload(t, s, access, "9646276_batch_c0107.h5", fixture(t, "9646276_batch_c0107.h5")))
	}
	for i, k := range keys {
		r := waitRuns(t, k, 1, 60*time.Second)[0]
		if r.Status != "done" || r.Schema != users[i] {
			t.Fatalf("run %+v", r)
		}
		expectTable(t, users[i], "job_9646276_batch_c0107", "real__9646276_batch_c0107.h5.csv")
	}
}

// event is a notification as MinIO sends it.
func event(bucketName, key, etag, sequencer string) string {
	return fmt.Sprintf(`{"EventName":"s3:ObjectCreated:Put","Key":%q,"Records":[{"eventVersion":"2.0","eventSource":"minio:s3",
		"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"size":1,"eTag":%q,"sequencer":%q}}}]}`,
		bucketName+"/"+key, bucketName, url.QueryEscape(key), etag, sequencer)
}

func token(t testing.TB, s *Stack) string {
	return string(readFile(t, filepath.Join(s.SecretsDir, "webhook-token")))
}

// TestReplayedEventsAndReupload: the same event three times gives one run;
// a new upload of the key replaces the table; an older event does not
// overwrite newer results.
func TestReplayedEventsAndReupload(t *testing.T) {
	s := testStack(t)
	user, access := newUser(t, s, "re")
	key := upload(t, s, access, "run.h5", fixture(t, "12352_0_multi_root.h5"))
	first := waitRuns(t, key, 1, 60*time.Second)[0]
	info, err := bucket.Root(t).StatObject(context.Background(), bucket.Name, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r := call(t, "POST", s.GatewayURL+"/function/analyze", event(bucket.Name, key, info.ETag, "0000000000000001"), "Authorization", "Bearer "+token(t, s))
		expect(t, r, 200, "")
		objs := r.JSON(t)["objects"].([]any)
		if r.JSON(t)["accepted"] != 0.0 || objs[0].(map[string]any)["status"] != "analysed" || objs[0].(map[string]any)["reason"] != "already recorded" {
			t.Fatalf("replay %d: %s", i, r.Body)
		}
	}
	if n := len(runs(t, key)); n != 1 {
		t.Fatalf("%d runs after replays, want 1", n)
	}
	expectTable(t, user, "job_run", "12352_0_multi_root.h5.csv")

	// New content under the same key: replaced.
	upload(t, s, access, "run.h5", fixture(t, "9799476_batch_c0103.h5"))
	all := waitRuns(t, key, 2, 60*time.Second)
	if all[1].Status != "done" || all[1].ETag == first.ETag || all[1].Rows != 108 {
		t.Fatalf("re-upload run %+v", all[1])
	}
	expectTable(t, user, "job_run", "real__9799476_batch_c0103.h5.csv")

	// The first upload's event arriving late (older sequencer, old ETag)
	// changes nothing.
	r := call(t, "POST", s.GatewayURL+"/function/analyze", event(bucket.Name, key, first.ETag, "0000000000000000"), "Authorization", "Bearer "+token(t, s))
	expect(t, r, 200, "")
	if st := r.JSON(t)["objects"].([]any)[0].(map[string]any)["status"]; st != "analysed" && st != "superseded" {
		t.Fatalf("late event: %s", r.Body)
	}
	if len(runs(t, key)) != 2 {
		t.Fatal("late event made a run")
	}
	expectTable(t, user, "job_run", "real__9799476_batch_c0103.h5.csv")
}

// TestWebhookNeedsToken: without the token, or with a wrong one, nothing runs.
func TestWebhookNeedsToken(t *testing.T) {
	s := testStack(t)
	key := "nobody-x/forged.h5"
	for _, auth := range []string{"", "Bearer wrong-token", "Bearer " + token(t, s) + "x", token(t, s)} {
		for _, path := range []string{"/function/analyze", "/minio-event", "/api/minio-event"} {
			r := call(t, "POST", s.GatewayURL+path, event(bucket.Name, key, "abc", "1"), "Authorization", auth)
			expect(t, r, 401, "Invalid webhook token.")
		}
	}
	if n := len(runs(t, key)); n != 0 {
		t.Fatalf("%d runs from unauthenticated events", n)
	}
}

// TestOutageLosesNothing: PostgreSQL is down while a file is uploaded; it
// is analysed once PostgreSQL is back (MinIO's queue retried the event).
// A corrupt file uploaded first does not hold up a good one after it.
func TestOutageLosesNothing(t *testing.T) {
	s := testStack(t)
	user, access := newUser(t, s, "ou")

	bad := upload(t, s, access, "corrupt.h5", fixture(t, "not_hdf5.h5"))
	good := upload(t, s, access, "good.h5", fixture(t, "12345_batch_node01.h5"))
	if r := waitRuns(t, bad, 1, 60*time.Second)[0]; r.Status != "skipped" || r.SkipClass != "not_hdf5" {
		t.Fatalf("corrupt file: %+v", r)
	}
	if r := waitRuns(t, good, 1, 30*time.Second)[0]; r.Status != "done" {
		t.Fatalf("good file after a corrupt one: %+v", r)
	}

	if err := s.StopPostgres(); err != nil {
		t.Fatal(err)
	}
	late := upload(t, s, access, "during-outage.h5", fixture(t, "9646276_batch_c0107.h5"))
	// While the database is down the event waits in MinIO's queue.
	time.Sleep(4 * time.Second)
	if err := s.StartPostgres(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := waitRuns(t, late, 1, 90*time.Second)[0]
	if r.Status != "done" {
		t.Fatalf("after the outage: %+v", r)
	}
	expectTable(t, user, "job_during-outage", "real__9646276_batch_c0107.h5.csv")
	if h := call(t, "GET", s.GatewayURL+"/healthz", nil); h.Status != 200 {
		t.Errorf("health after restart: %d %s", h.Status, h.Body)
	}
}

// TestKeysOutsideAnyUserAreRecorded: uploads outside any registered
// user's prefix are refused by the webhook, recorded as skipped in the
// queue's records, and never analysed.
func TestKeysOutsideAnyUserAreRecorded(t *testing.T) {
	testStack(t)
	data := fixture(t, "12345_batch_node01.h5")
	for _, key := range []string{"stray.h5", "no-such-user/x.h5"} {
		if _, err := bucket.Root(t).PutObject(context.Background(), bucket.Name, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		j := waitJob(t, key, 60*time.Second)
		if j.Status != "skipped" || j.Reason != analysis.SkipNoOwner.Reason() {
			t.Errorf("%s: %+v", key, j)
		}
		if r := runs(t, key); len(r) != 0 {
			t.Errorf("%s analysed: %+v", key, r)
		}
	}
}

type jobRow struct {
	ID       int64
	Status   string
	Reason   string
	Attempts int
}

// jobs lists the queue's records of a key, oldest first.
func jobs(t testing.TB, key string) []jobRow {
	t.Helper()
	return selectRows[jobRow](t, `SELECT id, status, coalesce(reason, ''), attempts FROM analysis_jobs WHERE object_key = $1 ORDER BY id`, key)
}

// waitJob waits for the key's first settled queue record.
func waitJob(t testing.TB, key string, timeout time.Duration) jobRow {
	t.Helper()
	var settled jobRow
	poll(t, key+": no settled job", timeout, func() ([]jobRow, bool) {
		all := jobs(t, key)
		for _, j := range all {
			if j.Status != "queued" && j.Status != "running" {
				settled = j
				return all, true
			}
		}
		return all, false
	})
	return settled
}

// TestFileThatCrashesHDF5IsSkipped: a file that kills libhdf5 is recorded
// as unreadable and the function keeps serving.
func TestFileThatCrashesHDF5IsSkipped(t *testing.T) {
	s := testStack(t)
	_, access := newUser(t, s, "cr")
	crasher := readFile(t, "../../../shared/hdf5/testdata/crashers/fuzz_dtype_copy.h5")
	key := upload(t, s, access, "crasher.h5", crasher)
	if r := waitRuns(t, key, 1, 60*time.Second)[0]; r.Status != "skipped" || r.SkipClass != "unreadable" {
		t.Fatalf("crasher: %+v", r)
	}
	good := upload(t, s, access, "after.h5", fixture(t, "12352_0_multi_root.h5"))
	if r := waitRuns(t, good, 1, 60*time.Second)[0]; r.Status != "done" {
		t.Fatalf("file after the crasher: %+v", r)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/app/pipeline"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	fixtures = testenv.FixtureDir()
	expected = testenv.ExpectedDir()
)

// TestDryRunMatchesExpected is the acceptance check: for every
// fixture, `analyze --dry-run --json --csv DIR` gives the original's
// columns, dtypes, rows, metrics, skip reasons and table values.
func TestDryRunMatchesExpected(t *testing.T) {
	csvDir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--mode", "compat", "--dry-run", "--json", "--csv", csvDir, fixtures}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 18 {
		t.Fatalf("%d JSON lines, want 18", len(lines))
	}
	for _, l := range lines {
		var got struct {
			testenv.Expected
			File    string  `json:"file"`
			Table   *string `json:"table"`
			Seconds float64 `json:"seconds"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		t.Run(got.File, func(t *testing.T) {
			want, wantCSV := testenv.LoadExpected(t, got.File)
			if (got.SkipReason == nil) != (want.SkipReason == nil) || (got.SkipReason != nil && *got.SkipReason != *want.SkipReason) {
				t.Fatalf("skip reason %v, want %v", got.SkipReason, want.SkipReason)
			}
			if got.Rows != want.Rows || strings.Join(got.Columns, ",") != strings.Join(want.Columns, ",") || len(got.DTypes) != len(want.DTypes) {
				t.Fatalf("rows %d columns %v; want %d %v", got.Rows, got.Columns, want.Rows, want.Columns)
			}
			for i := range got.DTypes {
				if got.DTypes[i] != want.DTypes[i] {
					t.Errorf("dtype of %s: %s, want %s", got.Columns[i], got.DTypes[i], want.DTypes[i])
				}
			}
			testenv.CompareMetrics(t, got.Metrics, want.Metrics)
			if got.Table == nil {
				return
			}
			f, err := os.Open(filepath.Join(csvDir, *got.Table+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			rows := make([][]any, len(recs)-1)
			for i, r := range recs[1:] {
				rows[i] = make([]any, len(r))
				for j, v := range r {
					if v != "" {
						rows[i][j] = v
					}
				}
			}
			testenv.CompareCSV(t, wantCSV, recs[0], rows)
		})
	}
}

func TestUsageAndExitStatus(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"--mode", "magic", fixtures}, 2},
		{[]string{"--rescan", fixtures}, 2},
		{[]string{"/no/such/path"}, 2},
		{[]string{"--dry-run", filepath.Join(fixtures, "zero_bytes.h5"), filepath.Join(fixtures, "truncated.h5")}, 0},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), c.args, &out, &errOut); code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	run(context.Background(), []string{"--dry-run", "--json", "--skip-batch", fixtures}, &out, &errOut)
	if strings.Contains(out.String(), `_batch_`) || strings.Count(out.String(), "\n") != 15 {
		t.Errorf("--skip-batch left %d files", strings.Count(out.String(), "\n"))
	}
}

// TestWritesPostgresAndDuckDBAlike: the same files into PostgreSQL and
// into the DuckDB file give the same tables and catalog outcomes.
func TestWritesPostgresAndDuckDBAlike(t *testing.T) {
	url := testenv.PostgresURL(t)
	duck := filepath.Join(t.TempDir(), "out.duckdb")
	files := []string{filepath.Join(fixtures, "12346_job_merged.h5"), filepath.Join(fixtures, "12347_0_node02.h5"), filepath.Join(fixtures, "empty_datasets.h5")}
	for _, args := range [][]string{
		append([]string{"--mode", "compat", "--postgres", url, "--schema", "lab"}, files...),
		append([]string{"--mode", "compat", "--duckdb", duck, "--schema", "lab"}, files...),
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", args[:2], code, errOut.String())
		}
	}
	// Compare through the CSV of each store against the expected output,
	// which both must equal.
	ctx := context.Background()
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, c := range []struct{ table, csv string }{{"job_12346_job_merged", "12346_job_merged.h5.csv"}, {"job_12347_0_node02", "12347_0_node02.h5.csv"}} {
		cols, data, err := postgres.ReadTable(ctx, pool, "lab", c.table)
		if err != nil {
			t.Fatal(err)
		}
		testenv.CompareCSV(t, filepath.Join(expected, c.csv), cols, data)
		cols, data = duckTable(t, duck, "lab", c.table)
		testenv.CompareCSV(t, filepath.Join(expected, c.csv), cols, data)
	}
	var statuses string
	if err := pool.QueryRow(ctx, `SELECT string_agg(status, ',' ORDER BY id) FROM analysis_runs`).Scan(&statuses); err != nil || statuses != "done,done,skipped" {
		t.Errorf("postgres catalog: %q %v", statuses, err)
	}
	if got := duckStatuses(t, duck); got != "done,done,skipped" {
		t.Errorf("duckdb catalog: %q", got)
	}
}

// TestRescanFindsMissedObjects: objects whose notification never arrived
// (this bucket sends none) are enqueued by --rescan into the analysis
// queue, and the workers analyse each version once.
func TestRescanFindsMissedObjects(t *testing.T) {
	b := testenv.FunctionEnv(t)
	t.Setenv("ANALYZE_MODE", "compat")
	t.Setenv("ANALYZE_CONCURRENCY", "2")
	url := os.Getenv("DATABASE_URL")
	ctx := context.Background()
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := (postgres.Accounts{Pool: pool}).CreateUser(ctx, "rescanner", "$argon2id$v=19$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw"); err != nil {
		t.Fatal(err)
	}
	putFile := func(key, fixture string) {
		data, err := os.ReadFile(filepath.Join(fixtures, fixture))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Client(t).PutObject(ctx, b.Name, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	putFile("rescanner/a.h5", "12345_batch_node01.h5")
	putFile("rescanner/bad.h5", "truncated.h5")
	putFile("rescanner/notes.txt", "not_hdf5.h5")

	rescan := func() string {
		var out, errOut bytes.Buffer
		if code := run(ctx, []string{"--mode", "compat", "--rescan", "--minio-prefix", "", "--postgres", url, "--json"}, &out, &errOut); code != 0 {
			t.Fatalf("rescan exit %d: %s", code, errOut.String())
		}
		var s []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var m map[string]any
			if l != "" && json.Unmarshal([]byte(l), &m) == nil {
				s = append(s, m["object"].(string)+"="+m["status"].(string))
			}
		}
		return strings.Join(s, " ")
	}
	settled := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var open int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM analysis_jobs WHERE status IN ('queued', 'running')`).Scan(&open); err != nil {
				t.Fatal(err)
			}
			if open == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d jobs still open", open)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if got := rescan(); got != "rescanner/a.h5=queued rescanner/bad.h5=queued" {
		t.Fatalf("first rescan: %s", got)
	}
	a, err := app.New()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p, err := pipeline.New(a)
	if err != nil {
		t.Fatal(err)
	}
	ws, wpool, err := p.StartWorkers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ws.Stop(ctx); wpool.Close() }()
	settled()
	var n int
	countRuns := func() int {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM analysis_runs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if countRuns() != 2 {
		t.Fatalf("%d runs after the first rescan", n)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM rescanner.job_a`).Scan(&rows); err != nil || rows != 300 {
		t.Fatalf("table rescanner.job_a: %d rows, %v", rows, err)
	}
	// Nothing new: nothing queued or analysed again.
	if got := rescan(); got != "rescanner/a.h5=analysed rescanner/bad.h5=analysed" {
		t.Fatalf("second rescan: %s", got)
	}
	settled()
	if countRuns() != 2 {
		t.Fatalf("%d runs after a rescan with nothing new", n)
	}
	// A new version of a.h5 is analysed; bad.h5 stays skipped.
	putFile("rescanner/a.h5", "9646276_batch_c0107.h5")
	rescan()
	settled()
	if countRuns() != 3 {
		t.Fatalf("%d runs after a changed object", n)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM rescanner.job_a`).Scan(&rows); err != nil || rows != 66 {
		t.Fatalf("replaced table: %d rows, %v", rows, err)
	}

	// The operator's view of the queue.
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"queue"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "queued 0  running 0  failed 0  analysed 3") {
		t.Fatalf("queue: exit %d: %s %s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run(ctx, []string{"queue", "list", "analysed"}, &out, &errOut); code != 0 || strings.Count(out.String(), "rescanner/") != 3 {
		t.Fatalf("queue list: exit %d: %s %s", code, out.String(), errOut.String())
	}
	if code := run(ctx, []string{"queue", "retry", "1"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not a failed job") {
		t.Fatalf("retry of an analysed job: exit %d: %s", code, errOut.String())
	}
}

//go:build integration

package functiontest_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	resultsfn "github.com/benchwrap/backend/functions/results"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/app/pipeline"
	"github.com/benchwrap/backend/shared/duckdb"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/results"
	"github.com/benchwrap/backend/testkit/testenv"
)

// fixture is the package's stack: test servers, two users, and one job
// of node-step files (two steps, two nodes, client-style names) plus one
// merged file of another job, uploaded and analysed in corrected mode.
type fixture struct {
	bucket     testenv.Bucket
	app        *app.App
	pipeline   *pipeline.Pipeline
	srv        *httptest.Server
	api        *testenv.APIValidator
	pool       *pgxpool.Pool
	userA      string
	tokA, tokB string
	keys       []string // user A's objects
}

var (
	fixOnce sync.Once
	fix     fixture

	// The analysis outside the queue, as the queue's workers run it.
	procOnce sync.Once
	proc     *analyzer.Processor
	procErr  error
)

const (
	nodeStepJob = "20005"
	mergedJob   = "20006"
)

func setup(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		fix.bucket = testenv.FunctionEnv(t)
		t.Setenv("ANALYZE_MODE", "corrected")
		os.Setenv("ANALYZE_MODE", "corrected")
		// The package's app and pipeline live as long as the fixture:
		// closed when the process ends.
		var err error
		if fix.app, err = app.New(); err != nil {
			t.Fatal(err)
		}
		if fix.pipeline, err = pipeline.New(fix.app); err != nil {
			t.Fatal(err)
		}
		fix.userA, fix.tokA = "alice"+testenv.Name("")[:6], ""
		fix.tokA, _ = testenv.Register(t, fix.app, fix.userA, "password-123")
		fix.tokB, _ = testenv.Register(t, fix.app, "bob"+testenv.Name("")[:6], "password-123")
		fix.srv = httptest.NewServer(fnhttp.Handler(fnhttptest.Function(t, fix.app, resultsfn.New).Handle, 0))
		fix.api = testenv.NewAPIValidator(t)
		ctx := context.Background()
		if fix.pool, err = fix.app.Postgres(ctx); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		ns := gen.Default()
		ns.JobID, ns.Steps, ns.Nodes, ns.Rows = 20005, 2, 2, 400
		files, err := gen.Write(dir, ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			fix.keys = append(fix.keys, upload(t, f, "cache_sweep_job_20005_"+filepath.Base(f), "cache_sweep"))
		}
		ms := gen.Default()
		ms.Layout, ms.JobID, ms.Steps, ms.Nodes, ms.Seed = gen.Merged, 20006, 1, 2, 7
		files, err = gen.Write(dir, ms)
		if err != nil {
			t.Fatal(err)
		}
		fix.keys = append(fix.keys, upload(t, files[0], filepath.Base(files[0]), "stream"))
	})
	if fix.srv == nil {
		t.Fatal("fixture failed")
	}
	return &fix
}

// upload puts a file into user A's prefix with the client's benchmark
// metadata and runs the analysis and the results hook on it.
func upload(t *testing.T, path, name, benchmark string) string {
	t.Helper()
	return uploadAs(t, fix.userA, path, name, benchmark, true)
}

// uploadAs uploads and analyses a file of a user, with or without the
// results hook.
func uploadAs(t *testing.T, user, path, name, benchmark string, hook bool) string {
	t.Helper()
	ctx := context.Background()
	key := user + "/" + name
	info, err := fix.bucket.Client(t).FPutObject(ctx, fix.bucket.Name, key, path, minio.PutObjectOptions{UserMetadata: map[string]string{"benchmark-name": benchmark}})
	if err != nil {
		t.Fatal(err)
	}
	procOnce.Do(func() { proc, procErr = fix.pipeline.NewProcessor(fix.pool) })
	if procErr != nil {
		t.Fatal(procErr)
	}
	out, err := proc.Process(ctx, analyzer.Object{Bucket: fix.bucket.Name, Key: key, ETag: info.ETag, Size: info.Size}, analyzer.ProcessOptions{})
	if err != nil || out.Status != "done" {
		t.Fatalf("analyse %s: %+v %v", key, out, err)
	}
	if hook {
		results.AfterAnalysis(ctx, postgres.Results{Pool: fix.pool}, proc.Objects, fix.bucket.Name, key)
	}
	return key
}

// get calls the function over HTTP and checks the exchange against
// openapi.json.
func (f *fixture) get(t *testing.T, path, token string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, body := f.api.Do(t, http.DefaultClient, req)
	return resp.StatusCode, body, resp.Header
}

func (f *fixture) getJSON(t *testing.T, path, token string, v any) {
	t.Helper()
	status, body, _ := f.get(t, path, token)
	if status != 200 {
		t.Fatalf("%s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// fileTotals reads the corrected totals of user A's files from the
// catalog, by job.
func fileTotals(t *testing.T, f *fixture) map[string]float64 {
	rows, err := f.pool.Query(context.Background(), `SELECT object_key, (metrics->>'energy_to_solution_j')::float8 FROM analysis_runs WHERE username = $1 AND status = 'done'`, f.userA)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for rows.Next() {
		var key string
		var e float64
		if err := rows.Scan(&key, &e); err != nil {
			t.Fatal(err)
		}
		out[results.ParseName(key, "").JobID] += e
	}
	return out
}

func TestJobsAcceptance(t *testing.T) {
	f := setup(t)
	var page struct {
		Jobs []map[string]any `json:"jobs"`
		Next string           `json:"next"`
	}
	f.getJSON(t, "/results/jobs", f.tokA, &page)
	if len(page.Jobs) != 2 || page.Next != "" {
		t.Fatalf("want exactly two jobs: %+v", page)
	}
	totals := fileTotals(t, f)
	want := map[string]struct {
		bench        string
		nodes, steps float64
	}{nodeStepJob: {"cache_sweep", 2, 2}, mergedJob: {"stream", 2, 1}}
	for _, j := range page.Jobs {
		id := j["job"].(string)
		w, ok := want[id]
		if !ok {
			t.Fatalf("unexpected job %q", id)
		}
		e := j["energy_j"].(float64)
		if math.Abs(e-totals[id]) > 1e-9*math.Abs(totals[id]) || totals[id] == 0 {
			t.Errorf("job %s: energy %v, sum of the files' corrected totals %v", id, e, totals[id])
		}
		if j["benchmark"] != w.bench || j["nodes"] != w.nodes || j["steps"] != w.steps || j["status"] != "done" {
			t.Errorf("job %s: %v", id, j)
		}
		if j["wall_time_s"] == nil || j["average_power_w"] == nil || j["peak_power_w"] == nil || j["edp"] == nil {
			t.Errorf("job %s: figures missing: %v", id, j)
		}
	}
	if page.Jobs[0]["job"] == page.Jobs[1]["job"] {
		t.Fatal("duplicate job")
	}

	// Detail: steps, nodes, files.
	var d struct {
		Files    float64          `json:"files"`
		Steps    []map[string]any `json:"step_list"`
		Nodes    []map[string]any `json:"node_list"`
		FileList []map[string]any `json:"file_list"`
		Label    string           `json:"label"`
	}
	f.getJSON(t, "/api/results/jobs/"+nodeStepJob, f.tokA, &d)
	if d.Files != 4 || len(d.Steps) != 2 || len(d.Nodes) != 4 || len(d.FileList) != 4 || d.Label != "cache_sweep_job_20005" {
		t.Fatalf("detail: %+v", d)
	}
	var stepSum float64
	for _, s := range d.Steps {
		stepSum += s["energy_j"].(float64)
		if s["in_total"] != true {
			t.Errorf("step %v not in total", s)
		}
	}
	if math.Abs(stepSum-totals[nodeStepJob]) > 1e-9*totals[nodeStepJob] {
		t.Errorf("steps sum %v, want %v", stepSum, totals[nodeStepJob])
	}
	for _, fl := range d.FileList {
		if fl["status"] != "done" || fl["benchmark"] != "cache_sweep" || fl["step"] == "" || fl["node"] == "" {
			t.Errorf("file %v", fl)
		}
	}
	// The OpenFaaS path works too.
	if s, body, _ := f.get(t, "/function/results/jobs/"+mergedJob, f.tokA); s != 200 {
		t.Errorf("/function/results: %d %s", s, body)
	}
}

func TestJobsPagination(t *testing.T) {
	f := setup(t)
	for _, sort := range []string{"-energy_j", "energy_j", "start", "-start", "edp"} {
		var ids []string
		var energies []float64
		cursor := ""
		for range 5 {
			var page struct {
				Jobs []results.Job `json:"jobs"`
				Next string        `json:"next"`
			}
			f.getJSON(t, "/results/jobs?limit=1&sort="+sort+"&cursor="+url.QueryEscape(cursor), f.tokA, &page)
			for _, j := range page.Jobs {
				ids = append(ids, j.ID)
				energies = append(energies, *j.EnergyJ)
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{nodeStepJob, mergedJob}) {
			t.Errorf("sort %s: pages gave %v", sort, ids)
		}
		if sort == "-energy_j" && energies[0] < energies[1] || sort == "energy_j" && energies[0] > energies[1] {
			t.Errorf("sort %s: %v", sort, energies)
		}
	}
	var page struct {
		Jobs []results.Job `json:"jobs"`
	}
	f.getJSON(t, "/results/jobs?benchmark=stream", f.tokA, &page)
	if len(page.Jobs) != 1 || page.Jobs[0].ID != mergedJob {
		t.Errorf("benchmark filter: %+v", page.Jobs)
	}
	f.getJSON(t, "/results/jobs?since=4102444800", f.tokA, &page)
	if len(page.Jobs) != 0 {
		t.Errorf("since filter: %+v", page.Jobs)
	}
	f.getJSON(t, "/results/jobs?until=2030-01-01T00:00:00Z&since=2000-01-01T00:00:00Z", f.tokA, &page)
	if len(page.Jobs) != 2 {
		t.Errorf("since/until: %+v", page.Jobs)
	}
	for _, q := range []string{"limit=0", "limit=x", "limit=501", "sort=name", "cursor=zz", "since=yesterday"} {
		if s, body, _ := f.get(t, "/results/jobs?"+q, f.tokA); s != 400 {
			t.Errorf("%s: %d %s", q, s, body)
		}
	}
	if s, _, _ := f.get(t, "/results/jobs", ""); s != 401 {
		t.Errorf("no token: %d", s)
	}
	if s, _, _ := f.get(t, "/results/nothing", f.tokA); s != 404 {
		t.Errorf("unknown path: %d", s)
	}
}

// tableOf returns the schema and table of one of user A's objects.
func tableOf(t *testing.T, f *fixture, key string) pgx.Identifier {
	var schema, table string
	err := f.pool.QueryRow(context.Background(), `SELECT schema_name, table_name FROM analysis_runs WHERE object_key = $1 AND status = 'done' ORDER BY id DESC LIMIT 1`, key).Scan(&schema, &table)
	if err != nil {
		t.Fatal(err)
	}
	return pgx.Identifier{schema, table}
}

func TestSeriesKeepsPeaks(t *testing.T) {
	f := setup(t)
	var s results.SeriesReply
	f.getJSON(t, "/results/jobs/"+mergedJob+"/series?fields=power,energy,cpu&points=40", f.tokA, &s)
	if len(s.Series) != 2 {
		t.Fatalf("series: %d", len(s.Series))
	}
	tbl := tableOf(t, f, f.keys[len(f.keys)-1])
	for _, se := range s.Series {
		var peak, last float64
		var rows int
		err := f.pool.QueryRow(context.Background(), `SELECT max(power_w), max(energy_j), count(*) FROM `+tbl.Sanitize()+` WHERE step = $1 AND node = $2`, se.Step, se.Node).Scan(&peak, &last, &rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(se.T) > 40 || len(se.T) < 10 || se.Rows != rows {
			t.Errorf("%s/%s: %d points of %d rows (table %d)", se.Step, se.Node, len(se.T), se.Rows, rows)
		}
		if got := slices.Max(se.Columns["power"]); got != peak {
			t.Errorf("%s/%s: downsampled peak %v, full-resolution %v", se.Step, se.Node, got, peak)
		}
		if got := slices.Max(se.Columns["energy"]); got != last {
			t.Errorf("%s/%s: energy max %v, want %v", se.Step, se.Node, got, last)
		}
		if !sort.Float64sAreSorted(se.T) {
			t.Errorf("times not sorted")
		}
	}
	// A zoomed range comes back at full detail within the range.
	mid := (*s.From + *s.To) / 2
	var z results.SeriesReply
	ff := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	f.getJSON(t, fmt.Sprintf("/results/jobs/%s/series?node=%s&from=%s&to=%s&points=2000", mergedJob, s.Series[0].Node, ff(*s.From), ff(mid)), f.tokA, &z)
	if len(z.Series) != 1 || z.Series[0].Rows != len(z.Series[0].T) || z.Series[0].Rows < 100 {
		t.Fatalf("zoom: %+v", z.Series)
	}
	for _, x := range z.Series[0].T {
		if x < *s.From || x > mid {
			t.Fatalf("zoom: %v outside [%v, %v]", x, *s.From, mid)
		}
	}
	for _, q := range []string{"fields=bogus", "points=1", "points=abc", "from=10&to=5"} {
		if st, body, _ := f.get(t, "/results/jobs/"+mergedJob+"/series?"+q, f.tokA); st != 400 {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
}

// tableRows reads a job's tables in export order as strings.
func tableRows(t *testing.T, f *fixture, job string, cols []string) [][]string {
	var out [][]string
	for _, key := range f.keys {
		if results.ParseName(key, "").JobID != job {
			continue
		}
		tbl := tableOf(t, f, key)
		var sel []string
		for _, c := range cols[1:] {
			sel = append(sel, pgx.Identifier{c}.Sanitize())
		}
		rows, err := f.pool.Query(context.Background(), `SELECT `+strings.Join(sel, ",")+` FROM `+tbl.Sanitize())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			rec := []string{key}
			for _, v := range vals {
				switch x := v.(type) {
				case nil:
					rec = append(rec, "")
				case float64:
					rec = append(rec, strconv.FormatFloat(x, 'g', -1, 64))
				default:
					rec = append(rec, fmt.Sprint(x))
				}
			}
			out = append(out, rec)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
	}
	sortRecords(out)
	return out
}

func sortRecords(r [][]string) {
	sort.Slice(r, func(a, b int) bool { return strings.Join(r[a], "\x00") < strings.Join(r[b], "\x00") })
}

func TestExportRoundTrips(t *testing.T) {
	f := setup(t)
	status, body, h := f.get(t, "/results/jobs/"+nodeStepJob+"/export?format=csv", f.tokA)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "job-20005.csv") {
		t.Fatalf("csv: %d %v", status, h)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, got := recs[0], recs[1:]
	if header[0] != "file" || !slices.Contains(header, "power_w") {
		t.Fatalf("header %v", header)
	}
	want := tableRows(t, f, nodeStepJob, header)
	sortRecords(got)
	if len(got) != len(want) || len(got) < 1000 {
		t.Fatalf("csv rows %d, table rows %d", len(got), len(want))
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("row %d: csv %v, table %v", i, got[i], want[i])
		}
	}

	// Parquet, read back by DuckDB.
	status, body, h = f.get(t, "/results/jobs/"+nodeStepJob+"/export?format=parquet", f.tokA)
	if status != 200 || h.Get("Content-Type") != results.ParquetContentType {
		t.Fatalf("parquet: %d %v", status, h)
	}
	path := filepath.Join(t.TempDir(), "job.parquet")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	fromDuck := duckRows(t, path, header)
	if len(fromDuck) != len(want) {
		t.Fatalf("parquet rows %d, table rows %d", len(fromDuck), len(want))
	}
	for i := range want {
		if !slices.Equal(fromDuck[i], want[i]) {
			t.Fatalf("row %d: parquet %v, table %v", i, fromDuck[i], want[i])
		}
	}
	if s, _, _ := f.get(t, "/results/jobs/"+nodeStepJob+"/export?format=xlsx", f.tokA); s != 400 {
		t.Errorf("bad format: %d", s)
	}

	// The analysis also left Parquet copies in the user's prefix.
	ctx := context.Background()
	sum, tbl := results.ParquetKeys(f.userA, nodeStepJob, f.keys[0])
	for _, k := range []string{sum, tbl} {
		if _, err := f.bucket.Client(t).StatObject(ctx, f.bucket.Name, k, minio.StatObjectOptions{}); err != nil {
			t.Errorf("parquet copy %s: %v", k, err)
		}
	}
	obj, err := f.bucket.Client(t).GetObject(ctx, f.bucket.Name, sum, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sp := filepath.Join(t.TempDir(), "summary.parquet")
	if err := func() error {
		out, err := os.Create(sp)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = out.ReadFrom(obj)
		return err
	}(); err != nil {
		t.Fatal(err)
	}
	db := duck(t)
	var job string
	var energy float64
	if err := db.QueryRow(`SELECT job, energy_j FROM read_parquet('`+sp+`')`).Scan(&job, &energy); err != nil {
		t.Fatal(err)
	}
	if job != nodeStepJob || math.Abs(energy-fileTotals(t, f)[nodeStepJob]) > 1e-6 {
		t.Errorf("summary.parquet: %s %v", job, energy)
	}
}

func duck(t *testing.T) *sql.DB {
	db, err := duckdb.OpenSQL("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func duckRows(t *testing.T, path string, cols []string) [][]string {
	db := duck(t)
	var sel []string
	for _, c := range cols {
		sel = append(sel, `"`+c+`"`)
	}
	rows, err := db.Query(`SELECT ` + strings.Join(sel, ",") + ` FROM read_parquet('` + path + `')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		rec := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
			case float64:
				rec[i] = strconv.FormatFloat(x, 'g', -1, 64)
			default:
				rec[i] = fmt.Sprint(x)
			}
		}
		out = append(out, rec)
	}
	sortRecords(out)
	return out
}

func TestOtherUsersJobsAre404(t *testing.T) {
	f := setup(t)
	for _, job := range []string{nodeStepJob, mergedJob, "no-such-job"} {
		for _, p := range []string{"", "/series", "/series?fields=power", "/export", "/export?format=parquet"} {
			st, body, _ := f.get(t, "/results/jobs/"+job+p, f.tokB)
			if st != 404 {
				t.Errorf("B %s%s: %d %s", job, p, st, body)
			}
		}
	}
	if st, _, _ := f.get(t, "/results/compare?jobs="+nodeStepJob, f.tokB); st != 404 {
		t.Errorf("B compare: %d", st)
	}
	var page struct {
		Jobs []any `json:"jobs"`
	}
	f.getJSON(t, "/results/jobs", f.tokB, &page)
	if len(page.Jobs) != 0 {
		t.Errorf("B sees %v", page.Jobs)
	}
	if st, _, _ := f.get(t, "/results/benchmarks/stream", f.tokB); st != 404 {
		t.Errorf("B benchmark: %d", st)
	}
}

func TestCompareAndBenchmarks(t *testing.T) {
	f := setup(t)
	var c results.Comparison
	f.getJSON(t, "/results/compare?jobs="+nodeStepJob+","+mergedJob, f.tokA, &c)
	if len(c.Jobs) != 2 || *c.Ratios[0]["energy_j"] != 1 || math.Abs(*c.Ratios[1]["energy_j"] - *c.Jobs[1].EnergyJ / *c.Jobs[0].EnergyJ) > 1e-12 {
		t.Fatalf("compare: %+v", c)
	}
	for _, q := range []string{"", "jobs=", "jobs=" + strings.Repeat("a,", 21)} {
		if st, _, _ := f.get(t, "/results/compare?"+q, f.tokA); st != 400 {
			t.Errorf("compare %q: %d", q, st)
		}
	}
	var list struct {
		Benchmarks []results.BenchmarkSummary `json:"benchmarks"`
	}
	f.getJSON(t, "/results/benchmarks", f.tokA, &list)
	if len(list.Benchmarks) != 2 || list.Benchmarks[0].Name != "cache_sweep" || list.Benchmarks[0].Runs != 1 || list.Benchmarks[0].Best.ID != nodeStepJob {
		t.Fatalf("benchmarks: %+v", list.Benchmarks)
	}
}

// TestRegressionFlag: ten stable runs of a benchmark with ±1 % noise,
// then one 30 % above: only that one is flagged.
func TestRegressionFlag(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	st := postgres.Results{Pool: f.pool}
	start := float64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	noise := []float64{1, 0.99, 1.01, 1.005, 0.995, 1.008, 0.992, 1.003, 0.997, 1.0}
	for i := range 11 {
		e := 1000 * 1.3
		if i < 10 {
			e = 1000 * noise[i]
		}
		w := 100 * (1 + (noise[i%10]-1)/2)
		s := start + float64(i)*86400
		j := results.Job{ID: fmt.Sprintf("9%03d", i), Benchmark: "hpl-regress", Status: "done", Files: 1, FilesDone: 1,
			Figures: results.Figures{EnergyJ: &e, WallTimeS: &w, StartEpochS: &s}, Quality: results.Quality{Flags: []string{}}}
		if err := st.SaveJob(ctx, f.userA, j, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	var b results.BenchmarkDetail
	f.getJSON(t, "/results/benchmarks/hpl-regress", f.tokA, &b)
	if len(b.Runs) != 11 || b.BenchmarkSummary.Runs != 11 || b.EnergyJ.Count != 11 || *b.EnergyJ.Max != 1300 {
		t.Fatalf("benchmark: %+v", b)
	}
	for i, r := range b.Runs {
		if r.Flagged != (i == 10) {
			t.Errorf("run %d (%v J): flagged %v (change %v)", i, *r.Energy.Value, r.Flagged, r.Energy.Change)
		}
	}
	last := b.Runs[10]
	if !last.Energy.Flagged || last.Time.Flagged || math.Abs(*last.Energy.Change-0.3) > 0.01 {
		t.Errorf("last run: %+v", last)
	}
	var d results.JobDetail
	f.getJSON(t, "/results/jobs/9010", f.tokA, &d)
	if d.Regression == nil || !d.Regression.Flagged {
		t.Errorf("job detail regression: %+v", d.Regression)
	}
}

// TestReadFilesWhatTheHookMissed: a genuine Slurm file analysed without
// the hook is filed (with its benchmark name, and its Parquet copies
// written) when its owner reads the results; once the runs are a minute old the user's watermark moves past
// them, and a later run is still found.
func TestReadFilesWhatTheHookMissed(t *testing.T) {
	f := setup(t)
	user := "carol" + testenv.Name("")[:6]
	tok, _ := testenv.Register(t, fix.app, user, "password-123")
	real := testenv.FixtureDir() // the genuine Slurm files are copied beside the others
	uploadAs(t, user, filepath.Join(real, "9646276_batch_c0107.h5"), "9646276_batch_c0107.h5", "lulesh", false)
	var page struct {
		Jobs []results.Job `json:"jobs"`
	}
	f.getJSON(t, "/results/jobs", tok, &page)
	if len(page.Jobs) != 1 || page.Jobs[0].ID != "9646276" || page.Jobs[0].Benchmark != "lulesh" || page.Jobs[0].EnergyJ == nil {
		t.Fatalf("jobs: %+v", page.Jobs)
	}
	ctx := context.Background()
	sum, tbl := results.ParquetKeys(user, "9646276", user+"/9646276_batch_c0107.h5")
	for _, k := range []string{sum, tbl} {
		if _, err := f.bucket.Client(t).StatObject(ctx, f.bucket.Name, k, minio.StatObjectOptions{}); err != nil {
			t.Errorf("parquet copy %s of a run filed by a read: %v", k, err)
		}
	}
	if _, err := f.pool.Exec(ctx, `UPDATE analysis_runs SET finished_at = now() - interval '1 hour' WHERE username = $1`, user); err != nil {
		t.Fatal(err)
	}
	f.getJSON(t, "/results/jobs", tok, &page)
	var mark, newest int64
	if err := f.pool.QueryRow(ctx, `SELECT (SELECT filed_through FROM result_users WHERE username = $1), (SELECT max(id) FROM analysis_runs WHERE username = $1)`, user).Scan(&mark, &newest); err != nil {
		t.Fatal(err)
	}
	if mark != newest {
		t.Errorf("watermark %d, newest run %d", mark, newest)
	}
	uploadAs(t, user, filepath.Join(real, "9799476_batch_c0103.h5"), "9799476_batch_c0103.h5", "lulesh", false)
	f.getJSON(t, "/results/jobs?sort=start", tok, &page)
	if len(page.Jobs) != 2 {
		t.Fatalf("after a second upload: %+v", page.Jobs)
	}
}

func TestOpenAPI(t *testing.T) {
	f := setup(t)
	st, body, _ := f.get(t, "/openapi.json", "")
	if st != 200 || !bytes.Contains(body, []byte(`"openapi": "3.1.0"`)) {
		t.Fatalf("openapi.json: %d", st)
	}
	// One live exchange per route, each checked against the document
	// (every other test's exchanges are checked too).
	for _, p := range []string{"/results/jobs?limit=1", "/results/jobs/" + mergedJob, "/results/jobs/" + mergedJob + "/series?points=10",
		"/results/jobs/" + mergedJob + "/export", "/results/benchmarks", "/results/benchmarks/stream", "/results/compare?jobs=" + mergedJob,
		"/api/results/jobs/nope", "/results/jobs?limit=0"} {
		f.get(t, p, f.tokA)
	}
	if m := f.api.Missing("/results", "/openapi.json"); len(m) > 0 {
		t.Errorf("not exercised: %v", m)
	}
}

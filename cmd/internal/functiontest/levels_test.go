//go:build integration

package functiontest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/results"
	"github.com/benchwrap/backend/testkit/testenv"
)

// countingStore counts the table reads a series request makes itself
// (its context is marked: not the background load of the job it starts;
// builds of levels read through a store of their own and are not counted).
type countingStore struct {
	results.Store
	scans, counts atomic.Int32
}

type requestMark struct{}

func (c *countingStore) ScanSeries(ctx context.Context, schema, table string, columns, have []string, rng *results.Range, fn func(step, node string, t float64, vals []float64) error) error {
	if ctx.Value(requestMark{}) != nil {
		c.scans.Add(1)
	}
	return c.Store.ScanSeries(ctx, schema, table, columns, have, rng, fn)
}

func (c *countingStore) CountSeries(ctx context.Context, schema, table string, have []string, rng results.Range) (map[[2]string]int, error) {
	if ctx.Value(requestMark{}) != nil {
		c.counts.Add(1)
	}
	return c.Store.CountSeries(ctx, schema, table, have, rng)
}

func newSeriesService() (*results.Service, *countingStore) {
	st := &countingStore{Store: postgres.Results{Pool: fix.pool}}
	return &results.Service{Store: st, Config: results.Config{BaselineRuns: 10, MinBaseline: 5, Threshold: 3, MinChange: 0.05, MaxPoints: 20000},
		Cache: results.NewSeriesCache(256)}, st
}

// seriesQueries are the requests compared: whole jobs and zooms (wide,
// narrow), fields one and many, points few and many, one node.
func seriesQueries(t *testing.T, user, job string) []results.SeriesQuery {
	t.Helper()
	svc, _ := newSeriesService()
	whole, err := svc.Series(context.Background(), results.SeriesQuery{Username: user, Job: job, Fields: []string{"power"}, Points: 100})
	if err != nil || whole.From == nil {
		t.Fatalf("series of %s: %v", job, err)
	}
	from, to := *whole.From, *whole.To
	at := func(f float64) *float64 { v := from + f*(to-from); return &v }
	var qs []results.SeriesQuery
	for _, fields := range [][]string{{"power"}, {"power", "energy", "cpu"}, {"gpu", "rss", "price"}} {
		for _, points := range []int{40, 2000, 20000} {
			q := results.SeriesQuery{Username: user, Job: job, Fields: fields, Points: points}
			qs = append(qs, q)
			for _, r := range [][2]float64{{0, 0.5}, {0.01, 0.6}, {0.3, 0.32}, {0.5, 0.5001}} {
				z := q
				z.From, z.To = at(r[0]), at(r[1])
				qs = append(qs, z)
			}
		}
	}
	node := whole.Series[0].Node
	qs = append(qs, results.SeriesQuery{Username: user, Job: job, Fields: []string{"power", "cpu"}, Points: 2000, Node: node},
		results.SeriesQuery{Username: user, Job: job, Fields: []string{"power"}, Points: 2000, Node: node, From: at(0.2), To: at(0.7)})
	return qs
}

func seriesJSON(t *testing.T, svc *results.Service, q results.SeriesQuery) string {
	t.Helper()
	r, err := svc.Series(context.WithValue(context.Background(), requestMark{}, true), q)
	if err != nil {
		t.Fatalf("series %+v: %v", q, err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameAsLoaded checks that every query answered by a service holding only
// the stored levels (a new one per query) equals the answer of a service
// holding the job's full-resolution series, and returns how many table
// reads the cold answers made for whole-job queries.
func sameAsLoaded(t *testing.T, user, job string) (wholeScans int32) {
	t.Helper()
	warm, _ := newSeriesService()
	if err := warm.LoadSeries(context.Background(), user, job); err != nil {
		t.Fatal(err)
	}
	for _, q := range seriesQueries(t, user, job) {
		cold, st := newSeriesService()
		got, want := seriesJSON(t, cold, q), seriesJSON(t, warm, q)
		if got != want {
			t.Fatalf("job %s, %v points %d node %q range %v–%v: from levels\n%.600s\nloaded\n%.600s", job, q.Fields, q.Points, q.Node, ptr(q.From), ptr(q.To), got, want)
		}
		if q.From == nil && q.Points <= 2000 {
			wholeScans += st.scans.Load()
		}
	}
	return wholeScans
}

func ptr(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func levelsOf(t *testing.T, key string) (runs []int64) {
	t.Helper()
	rows, err := fix.pool.Query(context.Background(), `SELECT l.run_id FROM result_levels l JOIN analysis_runs r ON r.id = l.run_id
		WHERE r.object_key = $1 ORDER BY 1`, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, id)
	}
	return runs
}

// TestLevelsEqualLoadedSeries: series answered from the levels stored at
// analysis equal those of the loaded job, for the fixtures (few rows: the
// levels hold them whole) and for a generated job whose series have more
// rows than a level (with duplicate times); whole-job requests read no
// table.
func TestLevelsEqualLoadedSeries(t *testing.T) {
	f := setup(t)
	for _, job := range []string{nodeStepJob, mergedJob} {
		if n := sameAsLoaded(t, f.userA, job); n != 0 {
			t.Errorf("job %s: whole-job requests read the table %d times", job, n)
		}
	}
	for _, k := range f.keys {
		if len(levelsOf(t, k)) != 1 {
			t.Errorf("%s: levels %v, want one run's", k, levelsOf(t, k))
		}
	}

	user := "lvl" + testenv.Name("")[:6]
	testenv.Register(t, fix.app, user, "password-123")
	spec := gen.Default()
	// One merged file: two series in one table.
	spec.Layout, spec.JobID, spec.Steps, spec.Nodes, spec.Rows, spec.Dups, spec.Jitter = gen.Merged, 20010, 1, 2, 75_000, 0.05, 0.4
	files, err := gen.Write(t.TempDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		// Stored by the analysis (its big series leveled as they were
		// copied, from the ranges the pipeline announced), not left to the
		// first request to build.
		if key := uploadAs(t, user, p, filepath.Base(p), "levels", true); len(levelsOf(t, key)) != 1 {
			t.Fatalf("%s: levels %v after the analysis, want its run's", key, levelsOf(t, key))
		}
	}
	svc, _ := newSeriesService()
	r, err := svc.Series(context.Background(), results.SeriesQuery{Username: user, Job: "20010", Fields: []string{"power"}, Points: 2000})
	if err != nil || len(r.Series) != 2 || r.Series[0].Rows <= 16*4096 || r.Series[1].Rows <= 16*4096 {
		t.Fatalf("big job: %v, %d series", err, len(r.Series))
	}
	if n := sameAsLoaded(t, user, "20010"); n != 0 {
		t.Errorf("big job: whole-job requests read the table %d times", n)
	}
}

// TestLevelsFollowReanalysis: a re-uploaded (re-analysed) object gets new
// levels, the old run's are gone, and its series are the new content's.
func TestLevelsFollowReanalysis(t *testing.T) {
	setup(t)
	user := "lvr" + testenv.Name("")[:6]
	testenv.Register(t, fix.app, user, "password-123")
	dir := t.TempDir()
	write := func(seed uint64, peak float64) string {
		spec := gen.Default()
		spec.JobID, spec.Steps, spec.Nodes, spec.Rows, spec.Seed, spec.PowerPeak = 20011, 1, 1, 3000, seed, peak
		files, err := gen.Write(filepath.Join(dir, fmt.Sprint(seed)), spec)
		if err != nil {
			t.Fatal(err)
		}
		return files[0]
	}
	name := "20011_0_node01.h5"
	key := uploadAs(t, user, write(1, 400), name, "levels", true)
	q := results.SeriesQuery{Username: user, Job: "20011", Fields: []string{"power"}, Points: 200}
	svc, _ := newSeriesService()
	before := seriesJSON(t, svc, q)
	old := levelsOf(t, key)

	uploadAs(t, user, write(2, 900), name, "levels", true)
	now := levelsOf(t, key)
	if len(old) != 1 || len(now) != 1 || now[0] <= old[0] {
		t.Fatalf("levels before %v, after re-analysis %v: want the new run's only", old, now)
	}
	cold, _ := newSeriesService()
	after := seriesJSON(t, cold, q)
	if after == before {
		t.Fatal("series after re-analysis are the old content's")
	}
	// The service that answered before answers the new content too (its
	// cache is keyed by the job's runs).
	if got := seriesJSON(t, svc, q); got != after {
		t.Fatalf("a warm service serves stale series:\n%.300s\nwant\n%.300s", got, after)
	}
	warm, _ := newSeriesService()
	if err := warm.LoadSeries(context.Background(), user, "20011"); err != nil {
		t.Fatal(err)
	}
	if want := seriesJSON(t, warm, q); after != want {
		t.Fatalf("from levels\n%.300s\nloaded\n%.300s", after, want)
	}
}

// TestLevelsMissingAreBuilt: a job analysed before levels existed (its
// levels removed here) is answered the same, and its levels are stored by
// that first request.
func TestLevelsMissingAreBuilt(t *testing.T) {
	f := setup(t)
	var runs []int64
	for _, k := range f.keys {
		runs = append(runs, levelsOf(t, k)...)
	}
	if _, err := fix.pool.Exec(context.Background(), `DELETE FROM result_levels WHERE run_id = ANY($1)`, runs); err != nil {
		t.Fatal(err)
	}
	sameAsLoaded(t, f.userA, mergedJob)
	for _, k := range f.keys[len(f.keys)-1:] {
		if len(levelsOf(t, k)) != 1 {
			t.Errorf("%s: levels not stored by the first request", k)
		}
	}
	if n := sameAsLoaded(t, f.userA, mergedJob); n != 0 {
		t.Errorf("whole-job requests read the table %d times after the levels were built", n)
	}
	// The node-step job's levels come back on its first request too.
	sameAsLoaded(t, f.userA, nodeStepJob)
	for _, k := range f.keys {
		if len(levelsOf(t, k)) != 1 {
			t.Errorf("%s: levels %v", k, levelsOf(t, k))
		}
	}
}

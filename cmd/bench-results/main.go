// Command bench-results measures the results API's two latency targets
// (`make bench-results`): a series request at 2000 points on a job of
// 2,000,000 rows (warm; plus the first, cold read, and a 200,000-row job
// beside it to show the time does not follow the rows), and a page of the
// job list for a user with 10,000 jobs. Each request is the service call
// plus the JSON encoding of its answer, as the function does it.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/cmd/internal/benchcli"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/results"
)

func main() {
	rows := flag.Int("rows", 2_000_000, "rows of the big job")
	jobs := flag.Int("jobs", 10_000, "jobs of the list user")
	n := flag.Int("n", 300, "requests per measurement")
	dbURL := benchcli.Postgres()
	benchcli.Main("bench-results", func() error { return run(*dbURL, *rows, *jobs, *n) })
}

func run(dbURL string, rows, jobs, n int) error {
	if err := benchcli.NeedDatabase(dbURL); err != nil {
		return err
	}
	ctx := context.Background()
	pool, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	suffix := fmt.Sprintf("%x", rand.Uint32())
	seriesUser, listUser := "benchs"+suffix, "benchl"+suffix
	svc := &results.Service{Store: postgres.Results{Pool: pool}, Config: results.Config{BaselineRuns: 10, MinBaseline: 5, Threshold: 3, MinChange: 0.05, MaxPoints: 20000},
		Cache: results.NewSeriesCache(1024)}

	t0 := time.Now()
	if err := seriesJob(ctx, pool, seriesUser, "1001", rows); err != nil {
		return err
	}
	if err := seriesJob(ctx, pool, seriesUser, "1002", rows/10); err != nil {
		return err
	}
	fmt.Printf("setup: job 1001 of %d rows, job 1002 of %d rows, in %.1fs\n", rows, rows/10, time.Since(t0).Seconds())
	for _, job := range []string{"1001", "1002"} {
		q := results.SeriesQuery{Username: seriesUser, Job: job, Fields: []string{"power"}, Points: 2000}
		cold := time.Now()
		if _, err := svc.Series(ctx, q); err != nil {
			return err
		}
		fmt.Printf("series %-5s first (cold) read, levels not stored (a job analysed before them): %.0f ms\n", job, ms(time.Since(cold)))
		// The first request of a process once the levels are stored, as
		// after an analysis: a new service.
		fresh := &results.Service{Store: svc.Store, Config: svc.Config, Cache: results.NewSeriesCache(1024)}
		cold = time.Now()
		if _, err := fresh.Series(ctx, q); err != nil {
			return err
		}
		fmt.Printf("series %-5s first (cold) read, levels stored: %.1f ms\n", job, ms(time.Since(cold)))
		report("series "+job+" 2000 points, full range", n, func() error {
			r, err := svc.Series(ctx, q)
			fnhttp.JSON(200, r)
			return err
		})
		full, _ := svc.Series(ctx, q)
		from, to := *full.From, *full.To
		r := rand.New(rand.NewPCG(1, 2))
		report("series "+job+" 2000 points, random 1-50% zoom", n, func() error {
			w := (to - from) * (0.01 + 0.49*r.Float64())
			a := from + (to-from-w)*r.Float64()
			b := a + w
			zq := q
			zq.From, zq.To = &a, &b
			s, err := svc.Series(ctx, zq)
			fnhttp.JSON(200, s)
			return err
		})
	}

	t0 = time.Now()
	if err := listJobs(ctx, pool, listUser, jobs); err != nil {
		return err
	}
	fmt.Printf("setup: %d jobs in %.1fs\n", jobs, time.Since(t0).Seconds())
	st := postgres.Results{Pool: pool}
	cold := time.Now()
	if _, err := svc.Jobs(ctx, results.JobQuery{Username: listUser, Sort: results.Sort{Field: "start", Desc: true}, Limit: 50}); err != nil {
		return err
	}
	fmt.Printf("jobs: first request (checks all %d runs are filed, sets the watermark): %.1f ms\n", jobs, ms(time.Since(cold)))
	report("  part: the unfiled-runs check (above the watermark)", n, func() error {
		_, err := st.UnfiledRuns(ctx, listUser, "", "")
		return err
	})
	report("  part: the page query (sort=-start)", n, func() error {
		_, err := st.Jobs(ctx, results.JobQuery{Username: listUser, Sort: results.Sort{Field: "start", Desc: true}, Limit: 51})
		return err
	})
	for _, sort := range []results.Sort{{Field: "start", Desc: true}, {Field: "energy_j", Desc: true}, {Field: "edp"}} {
		first := results.JobQuery{Username: listUser, Sort: sort, Limit: 50}
		p, err := svc.Jobs(ctx, first)
		if err != nil {
			return err
		}
		// A page deep in the list: follow the cursor 100 pages.
		deep := first
		for range 100 {
			c, err := results.DecodeCursor(p.Next)
			if err != nil {
				return err
			}
			deep.After = c
			if p, err = svc.Jobs(ctx, deep); err != nil {
				return err
			}
		}
		name := sort.Field
		if sort.Desc {
			name = "-" + name
		}
		for _, c := range []struct {
			label string
			q     results.JobQuery
		}{{"first page", first}, {"page 101", deep}} {
			report(fmt.Sprintf("jobs sort=%s limit=50, %s", name, c.label), n, func() error {
				p, err := svc.Jobs(ctx, c.q)
				fnhttp.JSON(200, p)
				if err == nil && len(p.Jobs) != 50 {
					err = fmt.Errorf("page of %d jobs", len(p.Jobs))
				}
				return err
			})
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(name string, n int, fn func() error) {
	lat := make([]float64, 0, n)
	for range n {
		t := time.Now()
		if err := fn(); err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
		lat = append(lat, ms(time.Since(t)))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("%-55s n=%d  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", name, n, q(0.5), q(0.99), lat[len(lat)-1])
}

// seriesJob makes a job of one node-step file whose corrected-style table
// has the given rows (1 s power samples with noise and a few spikes),
// catalogued and filed as the analyze function leaves it.
func seriesJob(ctx context.Context, pool *pgxpool.Pool, user, job string, rows int) error {
	key := user + "/bench_" + job + "_0_node01.h5"
	table := "job_" + job
	stmts := []string{
		`CREATE SCHEMA IF NOT EXISTS ` + user,
		`CREATE TABLE ` + user + `.` + table + ` AS SELECT '0'::text AS step, 'node01'::text AS node, i::float8 AS elapsed_s,
			1.75e9 + i::float8 AS epoch_s, 200 + 100 * random() + CASE WHEN i % 100003 = 7 THEN 900 ELSE 0 END AS power_w,
			250.0 * i AS energy_j, 100 * random() AS cpu_util_norm_pct FROM generate_series(0, $1::int - 1) i`,
	}
	if _, err := pool.Exec(ctx, stmts[0]); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, stmts[1], rows); err != nil {
		return err
	}
	cols := `[{"name":"step","type":"Text"},{"name":"node","type":"Text"},{"name":"elapsed_s","type":"Float64"},{"name":"epoch_s","type":"Float64"},{"name":"power_w","type":"Float64"},{"name":"energy_j","type":"Float64"},{"name":"cpu_util_norm_pct","type":"Float64"}]`
	_, err := pool.Exec(ctx, `INSERT INTO analysis_runs (source, bucket, object_key, username, schema_name, table_name, full_table_name, mode, status, rows, columns, metrics)
		VALUES ('minio', 'bench', $1, $2, $2, $3, $3, 'corrected', 'done', $4, $5, '{"energy_to_solution_j": 1}')`, key, user, table, rows, cols)
	if err != nil {
		return err
	}
	_, err = results.FileRuns(ctx, postgres.Results{Pool: pool}, nil, user, "", "")
	return err
}

// listJobs gives a user n filed runs (analysed a day ago) and their job
// aggregates.
func listJobs(ctx context.Context, pool *pgxpool.Pool, user string, n int) error {
	_, err := pool.Exec(ctx, `WITH r AS (
			INSERT INTO analysis_runs (source, bucket, object_key, username, schema_name, mode, status, started_at, finished_at)
			SELECT 'minio', 'bench', $1 || '/' || (100000 + i) || '_0_node01.h5', $1, $1, 'corrected', 'done',
				now() - interval '1 day', now() - interval '1 day' FROM generate_series(1, $2::int) i
			RETURNING id, object_key)
		INSERT INTO result_files (run_id, username, bucket, object_key, job_id, step, node, name_form)
		SELECT id, $1, 'bench', object_key, split_part(split_part(object_key, '/', 2), '_', 1), '0', 'node01', 'node-step' FROM r`, user, n)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `INSERT INTO result_jobs (username, job_id, benchmark_name, status, mode, files, files_done, nodes, steps,
			start_epoch_s, end_epoch_s, energy_j, wall_time_s, average_power_w, peak_power_w, edp, quality, detail, version)
		SELECT $1, (100000 + i)::text, 'bench' || (i % 20), 'done', 'corrected', 1, 1, 1, 1,
			1.7e9 + i * 3600, 1.7e9 + i * 3600 + 600, e, 600, e / 600, e / 500, e * 600,
			'{"flags": []}', '{"steps": [], "nodes": []}', i
		FROM (SELECT i, 1e5 + 1e4 * random() AS e FROM generate_series(1, $2::int) i) s`, user, n)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `ANALYZE result_jobs; ANALYZE result_files; ANALYZE analysis_runs`)
	return err
}

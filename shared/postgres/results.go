package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/results"
)

// Results is the results store (package results) in PostgreSQL: files
// filed under jobs (result_files), job aggregates (result_jobs), and the
// analysed tables for series and exports.
type Results struct {
	Pool *pgxpool.Pool
	tx   pgx.Tx // set while BuildLevels builds: its reads go through the locking transaction
}

var _ results.Store = Results{}

// UnfiledRuns returns the finished catalog runs of a user (or of one
// object when key is set) that are not filed under a job yet.
func (s Results) UnfiledRuns(ctx context.Context, username, bucket, key string) ([]results.Unfiled, error) {
	q := `SELECT r.id, r.bucket, r.object_key, r.username FROM analysis_runs r
		WHERE r.source = 'minio' AND r.status <> 'running' AND r.username IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM result_files f WHERE f.run_id = r.id)`
	var args []any
	if key != "" {
		q += ` AND r.bucket = $1 AND r.object_key = $2`
		args = append(args, bucket, key)
	} else {
		// Runs up to the user's watermark are filed: only the few above
		// it are looked at.
		q += ` AND r.username = $1 AND r.source = 'minio' AND r.status <> 'running'
			AND r.id > coalesce((SELECT filed_through FROM result_users WHERE username = $1), 0)`
		args = append(args, username)
	}
	rows, err := s.Pool.Query(ctx, q+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("unfiled runs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (results.Unfiled, error) {
		var u results.Unfiled
		err := r.Scan(&u.RunID, &u.Bucket, &u.Key, &u.Username)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("unfiled runs: %w", err)
	}
	return out, nil
}

// AdvanceFiled moves the user's watermark to their newest run finished a
// minute ago or more: every run up to it has been filed (the caller has
// just filed all runs above the old watermark), and a run that old has
// committed, so no earlier id can still appear.
func (s Results) AdvanceFiled(ctx context.Context, username string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO result_users (username, filed_through)
		SELECT $1, id FROM analysis_runs WHERE username = $1 AND source = 'minio' AND status <> 'running'
			AND coalesce(finished_at, started_at) < now() - interval '1 minute'
			AND id > coalesce((SELECT filed_through FROM result_users WHERE username = $1), 0)
		ORDER BY id DESC LIMIT 1
		ON CONFLICT (username) DO UPDATE SET filed_through = greatest(result_users.filed_through, excluded.filed_through)`, username)
	if err != nil {
		return fmt.Errorf("advance filed: %w", err)
	}
	return nil
}

// FileRun records the job of a run.
func (s Results) FileRun(ctx context.Context, u results.Unfiled, n results.Name, benchmark string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO result_files (run_id, username, bucket, object_key, job_id, step, node, label, name_form, benchmark_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (run_id) DO NOTHING`,
		u.RunID, u.Username, u.Bucket, u.Key, n.JobID, nullable(n.Step), nullable(n.Node), n.Label, n.Form, nullable(benchmark))
	if err != nil {
		return fmt.Errorf("file run %d: %w", u.RunID, err)
	}
	return nil
}

// JobFiles returns the latest run of each object filed under a job.
func (s Results) JobFiles(ctx context.Context, username, job string) ([]results.File, error) {
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT ON (f.object_key) r.id, f.object_key, f.job_id,
			coalesce(f.step, ''), coalesce(f.node, ''), f.label, f.name_form, coalesce(f.benchmark_name, ''),
			r.status, coalesce(r.skip_reason, ''), r.mode, coalesce(r.rows, 0), r.schema_name, coalesce(r.table_name, ''),
			r.columns, r.metrics, coalesce(r.finished_at, r.started_at)
		FROM result_files f JOIN analysis_runs r ON r.id = f.run_id
		WHERE f.username = $1 AND f.job_id = $2
		ORDER BY f.object_key, r.id DESC`, username, job)
	if err != nil {
		return nil, fmt.Errorf("job files: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (results.File, error) {
		var f results.File
		var cols, metrics []byte
		err := r.Scan(&f.RunID, &f.Key, &f.Name.JobID, &f.Name.Step, &f.Name.Node, &f.Name.Label, &f.Name.Form, &f.Benchmark,
			&f.Status, &f.Reason, &f.Mode, &f.Rows, &f.Schema, &f.Table, &cols, &metrics, &f.Analysed)
		f.Step, f.Node, f.Label = f.Name.Step, f.Name.Node, f.Name.Label
		var cj []columnJSON
		if len(cols) > 0 && json.Unmarshal(cols, &cj) == nil {
			for _, c := range cj {
				f.Columns = append(f.Columns, c.Name)
				f.Types = append(f.Types, string(c.Type))
			}
		}
		f.Summary = results.DecodeSummary(metrics)
		f.Analysed = f.Analysed.UTC()
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("job files: %w", err)
	}
	return out, nil
}

// SaveJob stores a job's aggregate (or removes it when it has no files).
// Two hooks of one job may race; each files its run before reading the
// job's files, so one of them sees both runs: the aggregate with the
// newest run and, for that run, the most files wins.
func (s Results) SaveJob(ctx context.Context, username string, j results.Job, version int64) error {
	if j.Files == 0 {
		_, err := s.Pool.Exec(ctx, `DELETE FROM result_jobs WHERE username = $1 AND job_id = $2`, username, j.ID)
		return err
	}
	quality, err := json.Marshal(j.Quality)
	if err != nil {
		return err
	}
	detail, err := json.Marshal(resultJobDetail{Steps: j.StepList, Nodes: j.NodeList})
	if err != nil {
		return err
	}
	_, err = s.Pool.Exec(ctx, `INSERT INTO result_jobs (username, job_id, benchmark_name, label, status, mode, files, files_done, nodes, steps,
			start_epoch_s, end_epoch_s, energy_j, wall_time_s, average_power_w, peak_power_w, edp, cost_eur, co2_kg, quality, detail, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, now())
		ON CONFLICT (username, job_id) DO UPDATE SET benchmark_name = excluded.benchmark_name, label = excluded.label,
			status = excluded.status, mode = excluded.mode, files = excluded.files, files_done = excluded.files_done,
			nodes = excluded.nodes, steps = excluded.steps, start_epoch_s = excluded.start_epoch_s, end_epoch_s = excluded.end_epoch_s,
			energy_j = excluded.energy_j, wall_time_s = excluded.wall_time_s, average_power_w = excluded.average_power_w,
			peak_power_w = excluded.peak_power_w, edp = excluded.edp, cost_eur = excluded.cost_eur, co2_kg = excluded.co2_kg,
			quality = excluded.quality, detail = excluded.detail, version = excluded.version, updated_at = now()
		WHERE (result_jobs.version, result_jobs.files) <= (excluded.version, excluded.files)`,
		username, j.ID, j.Benchmark, j.Label, j.Status, j.Mode, j.Files, j.FilesDone, j.NodeCount, j.StepCount,
		j.StartEpochS, j.EndEpochS, j.EnergyJ, j.WallTimeS, j.AveragePowerW, j.PeakPowerW, j.EDP, j.CostEUR, j.CO2Kg,
		quality, detail, version)
	if err != nil {
		return fmt.Errorf("save job %s: %w", j.ID, err)
	}
	return nil
}

type resultJobDetail struct {
	Steps []results.Step `json:"steps"`
	Nodes []results.Node `json:"nodes"`
}

const resultJobColumns = `job_id, benchmark_name, label, status, mode, files, files_done, nodes, steps,
	start_epoch_s, end_epoch_s, energy_j, wall_time_s, average_power_w, peak_power_w, edp, cost_eur, co2_kg, quality, updated_at`

func scanResultJob(row pgx.Row, extra ...any) (results.Job, error) {
	var j results.Job
	var quality []byte
	var updated time.Time
	err := row.Scan(append([]any{&j.ID, &j.Benchmark, &j.Label, &j.Status, &j.Mode, &j.Files, &j.FilesDone, &j.NodeCount, &j.StepCount,
		&j.StartEpochS, &j.EndEpochS, &j.EnergyJ, &j.WallTimeS, &j.AveragePowerW, &j.PeakPowerW, &j.EDP, &j.CostEUR, &j.CO2Kg,
		&quality, &updated}, extra...)...)
	if err != nil {
		return j, err
	}
	if err := json.Unmarshal(quality, &j.Quality); err != nil {
		return j, fmt.Errorf("job %s quality: %w", j.ID, err)
	}
	if j.Quality.Flags == nil {
		j.Quality.Flags = []string{}
	}
	return j, nil
}

// Job returns one job of a user with its steps and nodes.
func (s Results) Job(ctx context.Context, username, job string) (results.Job, bool, error) {
	var detail []byte
	j, err := scanResultJob(s.Pool.QueryRow(ctx, `SELECT `+resultJobColumns+`, detail FROM result_jobs WHERE username = $1 AND job_id = $2`, username, job), &detail)
	if errors.Is(err, pgx.ErrNoRows) {
		return results.Job{}, false, nil
	}
	if err != nil {
		return results.Job{}, false, fmt.Errorf("job: %w", err)
	}
	var d resultJobDetail
	if err := json.Unmarshal(detail, &d); err != nil {
		return results.Job{}, false, fmt.Errorf("job %s detail: %w", job, err)
	}
	j.StepList, j.NodeList = d.Steps, d.Nodes
	return j, true, nil
}

// sortColumns are the columns a job list may be sorted by.
var sortColumns = map[string]string{
	"start": "start_epoch_s", "end": "end_epoch_s", "energy_j": "energy_j", "wall_time_s": "wall_time_s",
	"average_power_w": "average_power_w", "peak_power_w": "peak_power_w", "edp": "edp", "cost_eur": "cost_eur", "co2_kg": "co2_kg",
}

// Jobs returns a page of a user's jobs, read off the sort's index
// (migration 030). A job without the sort value counts as the lowest; the
// job id breaks ties, so the cursor (the last row's value and id) is exact.
func (s Results) Jobs(ctx context.Context, q results.JobQuery) ([]results.Job, error) {
	col, ok := sortColumns[q.Sort.Field]
	if !ok {
		return nil, fmt.Errorf("jobs: unknown sort %q", q.Sort.Field)
	}
	dir, cmp := "ASC", ">"
	if q.Sort.Desc {
		dir, cmp = "DESC", "<"
	}
	key := "coalesce(" + col + ", '-Infinity')"
	where := []string{"username = $1"}
	args := []any{q.Username}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Benchmark != "" {
		where = append(where, "benchmark_name = "+arg(q.Benchmark))
	}
	if q.Since != nil {
		where = append(where, "start_epoch_s >= "+arg(*q.Since))
	}
	if q.Until != nil {
		where = append(where, "start_epoch_s < "+arg(*q.Until))
	}
	if q.After != nil {
		v := math.Inf(-1)
		if q.After.Value != nil {
			v = *q.After.Value
		}
		where = append(where, fmt.Sprintf("(%s, job_id) %s (%s::float8, %s)", key, cmp, arg(v), arg(q.After.Job)))
	}
	sql := `SELECT ` + resultJobColumns + `, ` + key + ` FROM result_jobs WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + key + ` ` + dir + `, job_id ` + dir + ` LIMIT ` + arg(q.Limit)
	return queryAll(ctx, s.Pool, "jobs", func(r pgx.Row) (results.Job, error) {
		var k float64
		j, err := scanResultJob(r, &k)
		j.SortKey = k
		return j, err
	}, sql, args...)
}

// BenchmarkJobs returns every job of a user (of one benchmark when name is
// set, of any named benchmark otherwise), oldest first.
func (s Results) BenchmarkJobs(ctx context.Context, username, name string) ([]results.Job, error) {
	q := `SELECT ` + resultJobColumns + ` FROM result_jobs WHERE username = $1 AND benchmark_name <> ''`
	args := []any{username}
	if name != "" {
		q += ` AND benchmark_name = $2`
		args = append(args, name)
	}
	scan := func(r pgx.Row) (results.Job, error) { return scanResultJob(r) }
	return queryAll(ctx, s.Pool, "benchmark jobs", scan, q+` ORDER BY start_epoch_s NULLS LAST, updated_at, job_id`, args...)
}

// ScanSeries streams the series columns of an analysed table: step, node,
// epoch_s and the named float columns (NaN for NULL or a column the table
// lacks), decoded without boxing each value; only the rows in rng when it
// is set. vals is reused. Rows come in the table's physical order, whole
// or in a range (no parallel or synchronised scan), so rows of equal time
// keep one order whatever reads them.
func (s Results) ScanSeries(ctx context.Context, schema, table string, columns, have []string, rng *results.Range, fn func(step, node string, t float64, vals []float64) error) error {
	present := map[string]bool{}
	for _, c := range have {
		present[c] = true
	}
	sel := []string{"step", "node", "epoch_s"}
	for _, c := range columns {
		if present[c] {
			sel = append(sel, quote(c))
		} else {
			sel = append(sel, "NULL::float8")
		}
	}
	q := `SELECT ` + strings.Join(sel, ", ") + ` FROM ` + pgx.Identifier{schema, table}.Sanitize()
	var args []any
	if rng != nil {
		q += ` WHERE epoch_s >= $1 AND epoch_s <= $2`
		args = append(args, rng.From, rng.To)
	}
	scan := func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var step, node pgtype.Text
		var t pgtype.Float8
		fl := make([]pgtype.Float8, len(columns))
		dst := []any{&step, &node, &t}
		for i := range fl {
			dst = append(dst, &fl[i])
		}
		vals := make([]float64, len(columns))
		for rows.Next() {
			if err := rows.Scan(dst...); err != nil {
				return err
			}
			if !t.Valid {
				continue
			}
			for i, f := range fl {
				vals[i] = math.NaN()
				if f.Valid {
					vals[i] = f.Float64
				}
			}
			if err := fn(step.String, node.String, t.Float64, vals); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var err error
	if s.tx != nil {
		err = scan(s.tx)
	} else {
		err = inOrder(ctx, s.Pool, scan)
	}
	if err != nil {
		return fmt.Errorf("scan series: %w", err)
	}
	return nil
}

// inOrder runs fn in a read-only transaction whose scans read a table in
// its physical order.
func inOrder(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := scanInOrder(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}

func scanInOrder(ctx context.Context, tx pgx.Tx) error {
	for _, set := range []string{`SET LOCAL synchronize_seqscans = off`, `SET LOCAL max_parallel_workers_per_gather = 0`} {
		if _, err := tx.Exec(ctx, set); err != nil {
			return err
		}
	}
	return nil
}

// CountSeries counts an analysed table's rows with a time in rng, per
// (step, node).
func (s Results) CountSeries(ctx context.Context, schema, table string, have []string, rng results.Range) (map[[2]string]int, error) {
	rows, err := s.Pool.Query(ctx, `SELECT coalesce(step, ''), coalesce(node, ''), count(*) FROM `+pgx.Identifier{schema, table}.Sanitize()+
		` WHERE epoch_s >= $1 AND epoch_s <= $2 GROUP BY 1, 2`, rng.From, rng.To)
	if err != nil {
		return nil, fmt.Errorf("count series: %w", err)
	}
	out := map[[2]string]int{}
	var step, node string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&step, &node, &n}, func() error {
		out[[2]string{step, node}] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count series: %w", err)
	}
	return out, nil
}

// Levels returns the stored series levels of runs (migration 031).
func (s Results) Levels(ctx context.Context, runIDs []int64, version int) (map[int64][]byte, error) {
	out := map[int64][]byte{}
	if len(runIDs) == 0 {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT run_id, levels FROM result_levels WHERE run_id = ANY($1) AND version = $2`, runIDs, version)
	if err != nil {
		return nil, fmt.Errorf("levels: %w", err)
	}
	var id int64
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &b}, func() error {
		out[id] = b
		b = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("levels: %w", err)
	}
	return out, nil
}

// BuildLevels returns a run's stored levels, else stores what build
// returns. A transaction-scoped advisory lock on the run serialises
// builders: one waiting for another finds its levels. build reads through
// the store it is given, in that transaction (one connection). Older
// runs' levels of the same object (their tables replaced) are removed
// with it.
func (s Results) BuildLevels(ctx context.Context, runID int64, version int, build func(context.Context, results.Store) ([]byte, error)) ([]byte, error) {
	var out []byte
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, levelsLock, int32(runID)); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT levels FROM result_levels WHERE run_id = $1 AND version = $2`, runID, version).Scan(&out)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := scanInOrder(ctx, tx); err != nil {
			return err
		}
		if out, err = build(ctx, Results{Pool: s.Pool, tx: tx}); err != nil {
			return err
		}
		return storeLevels(ctx, tx, runID, version, out)
	})
	if err != nil {
		return nil, fmt.Errorf("build levels of run %d: %w", runID, err)
	}
	return out, nil
}

// recordLevels has a table's series levels (results.LevelRecorder)
// recorded from its rows as they are copied; store puts them in the
// publishing transaction under the run's id. Tables without series store
// nothing.
func recordLevels(columns []analysis.Column, rows analysis.RowSource) (store func(ctx context.Context, tx pgx.Tx, runID int64) error, src analysis.RowSource) {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.Name
	}
	rec := results.NewLevelRecorder(names)
	if rec == nil {
		return func(context.Context, pgx.Tx, int64) error { return nil }, rows
	}
	if rs, ok := rows.(analysis.SeriesRangeSource); ok {
		// Its big series are leveled as they pass, not kept (nil: the
		// source does not know its series).
		rec.Expect(rs.SeriesRanges())
	}
	return func(ctx context.Context, tx pgx.Tx, runID int64) error {
		// Levels that cannot be recorded or stored are built by the run's
		// first series request instead; the analysis stands.
		levels, err := rec.Levels()
		if err != nil {
			slog.WarnContext(ctx, "series levels not recorded", "run", runID, "error", err)
			return nil
		}
		// In a savepoint: a failed store leaves the transaction usable.
		err = pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			return storeLevels(ctx, sp, runID, results.LevelsVersion, levels)
		})
		if err != nil {
			slog.WarnContext(ctx, "series levels not stored", "run", runID, "error", err)
		}
		return nil
	}, recordingSource{rows, rec}
}

// storeLevels stores a run's levels, and removes those of the object's
// older runs (their table is replaced).
func storeLevels(ctx context.Context, tx pgx.Tx, runID int64, version int, levels []byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM result_levels WHERE run_id IN (SELECT o.id FROM analysis_runs r
			JOIN analysis_runs o ON o.bucket = r.bucket AND o.object_key = r.object_key AND o.id < r.id WHERE r.id = $1)`, runID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO result_levels (run_id, version, levels) VALUES ($1, $2, $3)
		ON CONFLICT (run_id, version) DO UPDATE SET levels = excluded.levels, created_at = now()`, runID, version, levels)
	return err
}

type recordingSource struct {
	analysis.RowSource
	rec *results.LevelRecorder
}

func (s recordingSource) ScanRows(ctx context.Context, fn func(row []any) error) error {
	return s.RowSource.ScanRows(ctx, func(row []any) error {
		s.rec.Row(row)
		return fn(row)
	})
}

func (s recordingSource) ScanFloatRows(ctx context.Context, fn func(texts []string, values []float64) error) (bool, error) {
	fs, ok := s.RowSource.(analysis.FloatRowSource)
	if !ok {
		return false, nil
	}
	return fs.ScanFloatRows(ctx, func(texts []string, values []float64) error {
		s.rec.FloatRow(texts, values)
		return fn(texts, values)
	})
}

// levelsLock is the advisory lock class of level builds (a run id is the
// second key).
const levelsLock = int32(0x6c766c73)

// ScanTable streams the named columns of an analysed table (columns the
// table lacks come as NULL). fn gets each row's values; the slice is
// reused.
func (s Results) ScanTable(ctx context.Context, schema, table string, columns []string, have []string, fn func(row []any) error) error {
	present := map[string]bool{}
	for _, c := range have {
		present[c] = true
	}
	sel := make([]string, len(columns))
	for i, c := range columns {
		if present[c] {
			sel[i] = quote(c)
		} else {
			sel[i] = "NULL"
		}
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+pgx.Identifier{schema, table}.Sanitize())
	if err != nil {
		return fmt.Errorf("scan table: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return fmt.Errorf("scan table: %w", err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

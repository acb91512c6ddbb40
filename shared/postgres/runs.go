package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/analysis"
)

// querier is a pool, a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type columnJSON struct {
	Name string         `json:"name"`
	Type analysis.DType `json:"type"`
}

// jsonOrNil marshals v; nil values (also typed nil pointers) become SQL NULL.
func jsonOrNil(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil, err
	}
	return b, nil
}

// InsertRun records a run in the catalog and returns its id.
func InsertRun(ctx context.Context, q querier, r analysis.Run) (int64, error) {
	var cols []columnJSON
	for _, c := range r.Columns {
		cols = append(cols, columnJSON{c.Name, c.Type})
	}
	colsJSON, err := jsonOrNil(cols)
	if err != nil {
		return 0, err
	}
	metrics, err := jsonOrNil(r.Metrics)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	details, err := jsonOrNil(r.Details)
	if err != nil {
		return 0, fmt.Errorf("details: %w", err)
	}
	var id int64
	err = q.QueryRow(ctx, `INSERT INTO analysis_runs (source, bucket, object_key, etag, sequencer, object_size, path, sha256,
		username, schema_name, table_name, full_table_name, mode, status, skip_class, skip_reason, error,
		rows, columns, metrics, details, started_at, finished_at, read_seconds, pipeline_seconds, write_seconds)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
		RETURNING id`,
		r.Source, nullable(r.Bucket), nullable(r.Key), nullable(r.ETag), nullable(r.Sequencer), r.Size, nullable(r.Path), nullable(r.SHA256),
		nullable(r.Username), r.Schema, nullable(r.Table), nullable(r.FullTable), string(r.Mode), r.Status,
		nullable(string(r.SkipClass)), nullable(r.Reason), nullable(r.Error),
		r.Rows, colsJSON, metrics, details, r.StartedAt, nullTime(r), r.ReadSeconds, r.PipelineSeconds, r.WriteSeconds,
	).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert analysis run: %w", err)
	}
	return id, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(r analysis.Run) any {
	if r.FinishedAt.IsZero() {
		return nil
	}
	return r.FinishedAt
}

const summaryColumns = `status, coalesce(schema_name || '.' || table_name, ''), coalesce(rows, 0),
	(metrics->>'energy_to_solution_j')::float8, (metrics->>'cost_eur')::float8,
	coalesce(skip_reason, ''), coalesce(etag, ''), coalesce(sequencer, ''), mode`

// scanSummary reads summaryColumns, after any leading columns into lead.
func scanSummary(row pgx.Row, lead ...any) (analysis.RunSummary, error) {
	var s analysis.RunSummary
	var mode string
	err := row.Scan(append(lead, &s.Status, &s.Table, &s.Rows, &s.EnergyToSolutionJ, &s.CostEUR, &s.Reason, &s.ETag, &s.Sequencer, &mode)...)
	s.Mode = analysis.Mode(mode)
	return s, err
}

// FindRun returns the finished run of exactly this object version and
// mode, if there is one.
func FindRun(ctx context.Context, q querier, bucket, key, etag string, mode analysis.Mode) (analysis.RunSummary, bool, error) {
	s, err := scanSummary(q.QueryRow(ctx, `SELECT `+summaryColumns+` FROM analysis_runs
		WHERE bucket = $1 AND object_key = $2 AND etag = $3 AND mode = $4 AND status <> 'running'
		ORDER BY id DESC LIMIT 1`, bucket, key, etag, string(mode)))
	if errors.Is(err, pgx.ErrNoRows) {
		return analysis.RunSummary{}, false, nil
	}
	if err != nil {
		return analysis.RunSummary{}, false, fmt.Errorf("find run: %w", err)
	}
	return s, true, nil
}

// LatestRuns returns the latest run of each of the given keys, finished
// or in progress (a listing shows a file being analysed).
func LatestRuns(ctx context.Context, q queryer, bucket string, keys []string) (map[string]analysis.RunSummary, error) {
	out := map[string]analysis.RunSummary{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (object_key) object_key, `+summaryColumns+` FROM analysis_runs
		WHERE bucket = $1 AND object_key = ANY($2)
		ORDER BY object_key, id DESC`, bucket, keys)
	if err != nil {
		return nil, fmt.Errorf("latest runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		s, err := scanSummary(rows, &key)
		if err != nil {
			return nil, fmt.Errorf("latest runs: %w", err)
		}
		out[key] = s
	}
	return out, rows.Err()
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// LockObject serialises work on one object across every replica: a
// transaction-scoped advisory lock, held by an open transaction on a
// connection of its own until release. No session state, so it holds
// through PgBouncer in transaction pooling mode too.
func LockObject(ctx context.Context, pool *pgxpool.Pool, bucket, key string) (release func(), err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock object: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, bucket+"/"+key); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("lock object: %w", err)
	}
	return func() {
		// Ending the transaction releases the lock; when even that fails
		// the connection is closed, which releases it too.
		_ = tx.Rollback(context.WithoutCancel(ctx))
	}, nil
}

// InsertSummaries stores the summary rows of a run.
func InsertSummaries(ctx context.Context, q querier, runID int64, r analysis.Run, rows []analysis.SummaryRow) error {
	source := r.Key
	if source == "" {
		source = r.Path
	}
	for _, s := range rows {
		extra, err := jsonOrNil(s.Extra)
		if err != nil {
			return fmt.Errorf("summary extra: %w", err)
		}
		_, err = q.Exec(ctx, `INSERT INTO job_summaries (run_id, schema_name, table_name, source, mode, level, step, node,
			energy_j, energy_kwh, gpu_energy_j, wall_time_s, average_power_w, peak_power_w, peak_power_time_s, energy_delay_product,
			cost_eur, co2_kg, appliance_name, appliance_amount, appliance_unit, nulls, out_of_range, long_gaps, extra)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`,
			runID, r.Schema, nullable(r.Table), source, string(r.Mode), s.Level, nullable(s.Step), nullable(s.Node),
			s.EnergyJ, s.EnergyKWh, s.GPUEnergyJ, s.WallTimeS, s.AveragePowerW, s.PeakPowerW, s.PeakPowerTimeS, s.EnergyDelayProduct,
			s.CostEUR, s.CO2Kg, nullable(s.ApplianceName), s.ApplianceAmount, nullable(s.ApplianceUnit), s.Nulls, s.OutOfRange, s.LongGaps, extra)
		if err != nil {
			return fmt.Errorf("insert job summary: %w", err)
		}
	}
	return nil
}

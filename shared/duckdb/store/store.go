package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/duckdb"
)

// Store is the embedded default for results: the same tables and catalog
// as in PostgreSQL, in a DuckDB file, for machines without a database
// server (the batch analyzer's --duckdb).
type Store struct {
	db   *sql.DB
	path string
}

const storeCatalog = `CREATE TABLE IF NOT EXISTS main.analysis_runs (
	id BIGINT PRIMARY KEY, source VARCHAR NOT NULL, bucket VARCHAR, object_key VARCHAR, etag VARCHAR,
	sequencer VARCHAR, object_size BIGINT, path VARCHAR, sha256 VARCHAR, username VARCHAR,
	schema_name VARCHAR NOT NULL, table_name VARCHAR, full_table_name VARCHAR, mode VARCHAR NOT NULL,
	status VARCHAR NOT NULL, skip_class VARCHAR, skip_reason VARCHAR, error VARCHAR, "rows" BIGINT,
	columns JSON, metrics JSON, details JSON, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
	read_seconds DOUBLE, pipeline_seconds DOUBLE, write_seconds DOUBLE);
CREATE TABLE IF NOT EXISTS main.job_summaries (
	run_id BIGINT NOT NULL, schema_name VARCHAR NOT NULL, table_name VARCHAR, source VARCHAR NOT NULL,
	mode VARCHAR NOT NULL, level VARCHAR NOT NULL, step VARCHAR, node VARCHAR, energy_j DOUBLE, energy_kwh DOUBLE,
	gpu_energy_j DOUBLE, wall_time_s DOUBLE, average_power_w DOUBLE, peak_power_w DOUBLE, peak_power_time_s DOUBLE,
	energy_delay_product DOUBLE, cost_eur DOUBLE, co2_kg DOUBLE, appliance_name VARCHAR, appliance_amount DOUBLE,
	appliance_unit VARCHAR, nulls BIGINT, out_of_range BIGINT, long_gaps BIGINT, extra JSON)`

// OpenStore opens (creating if needed) a DuckDB file for results.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	cfg := url.Values{}
	cfg.Set("autoinstall_known_extensions", "false")
	cfg.Set("autoload_known_extensions", "false")
	connector, err := duck.NewConnector(path+"?"+cfg.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1) // one writer; Appender and DDL share the connection
	s := &Store{db: db, path: path}
	if _, err := db.ExecContext(ctx, storeCatalog); err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb: catalog in %s: %w", path, err)
	}
	// Tables of writes that died before publishing.
	rows, err := db.QueryContext(ctx, `SELECT schema_name, table_name FROM duckdb_tables() WHERE table_name LIKE 'bw_new_%'`)
	if err == nil {
		var stale [][2]string
		for rows.Next() {
			var s, t string
			if rows.Scan(&s, &t) == nil {
				stale = append(stale, [2]string{s, t})
			}
		}
		rows.Close()
		for _, st := range stale {
			_, _ = db.ExecContext(ctx, "DROP TABLE IF EXISTS "+duckdb.Quote(st[0])+"."+duckdb.Quote(st[1]))
		}
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Publish writes the table (when the run has one) into the run's schema,
// replacing a previous table atomically, and records the run.
func (s *Store) Publish(ctx context.Context, res *analysis.Result, src analysis.RowSource, run *analysis.Run) error {
	start := time.Now()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	schema := analysis.Identifier(run.Schema)
	tmp := fmt.Sprintf("bw_new_%d", time.Now().UnixNano())
	if run.Status == analysis.StatusDone {
		if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+duckdb.Quote(schema)); err != nil {
			return fmt.Errorf("duckdb: create schema: %w", err)
		}
		defs := make([]string, len(res.Columns))
		for i, c := range res.Columns {
			defs[i] = duckdb.Quote(c.Name) + " " + c.Type.DuckDB()
		}
		if _, err := conn.ExecContext(ctx, "CREATE TABLE "+duckdb.Quote(schema)+"."+duckdb.Quote(tmp)+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return fmt.Errorf("duckdb: create table: %w", err)
		}
		n, err := appendRows(ctx, conn, schema, tmp, src, len(res.Columns))
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+duckdb.Quote(schema)+"."+duckdb.Quote(tmp))
			return fmt.Errorf("duckdb: append rows: %w", err)
		}
		run.Table, run.Rows = analysis.Identifier(res.Table), n
	}
	run.FinishedAt = time.Now()
	run.WriteSeconds = time.Since(start).Seconds()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if run.Status == analysis.StatusDone {
		for _, q := range []string{
			"DROP TABLE IF EXISTS " + duckdb.Quote(schema) + "." + duckdb.Quote(run.Table),
			"ALTER TABLE " + duckdb.Quote(schema) + "." + duckdb.Quote(tmp) + " RENAME TO " + duckdb.Quote(run.Table),
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("duckdb: publish table: %w", err)
			}
		}
	}
	if err := insertRun(ctx, tx, run); err != nil {
		return err
	}
	return tx.Commit()
}

func appendRows(ctx context.Context, conn *sql.Conn, schema, table string, src analysis.RowSource, width int) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		a, err := duck.NewAppenderFromConn(dc.(driver.Conn), schema, table)
		if err != nil {
			return err
		}
		vals := make([]driver.Value, width)
		err = src.ScanRows(ctx, func(row []any) error {
			for i, v := range row {
				vals[i] = v
			}
			n++
			return a.AppendRow(vals...)
		})
		if cerr := a.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return n, err
}

func insertRun(ctx context.Context, tx *sql.Tx, r *analysis.Run) error {
	js := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil || string(b) == "null" {
			return nil
		}
		return string(b)
	}
	type col struct {
		Name string         `json:"name"`
		Type analysis.DType `json:"type"`
	}
	var cols []col
	for _, c := range r.Columns {
		cols = append(cols, col{c.Name, c.Type})
	}
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var finished any
	if !r.FinishedAt.IsZero() {
		finished = r.FinishedAt
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM main.analysis_runs`).Scan(&id); err != nil {
		return fmt.Errorf("duckdb: record run: %w", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO main.analysis_runs VALUES (
		?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id,
		r.Source, null(r.Bucket), null(r.Key), null(r.ETag), null(r.Sequencer), r.Size, null(r.Path), null(r.SHA256),
		null(r.Username), r.Schema, null(r.Table), null(r.FullTable), string(r.Mode), r.Status, null(string(r.SkipClass)),
		null(r.Reason), null(r.Error), r.Rows, js(cols), js(r.Metrics), js(r.Details), r.StartedAt, finished,
		r.ReadSeconds, r.PipelineSeconds, r.WriteSeconds)
	if err != nil {
		return fmt.Errorf("duckdb: record run: %w", err)
	}
	source := r.Key
	if source == "" {
		source = r.Path
	}
	for _, s := range r.Summaries {
		_, err := tx.ExecContext(ctx, `INSERT INTO main.job_summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, r.Schema, null(r.Table), source, string(r.Mode), s.Level, null(s.Step), null(s.Node),
			s.EnergyJ, s.EnergyKWh, s.GPUEnergyJ, s.WallTimeS, s.AveragePowerW, s.PeakPowerW, s.PeakPowerTimeS, s.EnergyDelayProduct,
			s.CostEUR, s.CO2Kg, null(s.ApplianceName), s.ApplianceAmount, null(s.ApplianceUnit), s.Nulls, s.OutOfRange, s.LongGaps, js(s.Extra))
		if err != nil {
			return fmt.Errorf("duckdb: record summary: %w", err)
		}
	}
	return nil
}

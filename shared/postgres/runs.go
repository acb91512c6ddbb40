package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/analysis"
)

// Sink implements the analyzer's Sink: it publishes into PostgreSQL: the table by binary COPY into
// the run's schema, replaced atomically, and the catalog row in the same
// transaction.
type Sink struct{ Pool *pgxpool.Pool }

func (s Sink) Publish(ctx context.Context, res *analysis.Result, rows analysis.RowSource, run *analysis.Run) error {
	start := time.Now()
	defer func() { run.WriteSeconds = time.Since(start).Seconds() }()
	if run.Status != analysis.StatusDone {
		run.FinishedAt = time.Now()
		err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
			if err := settle(ctx, tx, run); err != nil {
				return err
			}
			_, err := InsertRun(ctx, tx, *run)
			return err
		})
		return s.classify(ctx, err)
	}
	levels, rows := recordLevels(res.Columns, rows) // results' series levels, stored with the table
	_, _, err := Tables{Pool: s.Pool}.Replace(ctx, TableWrite{
		Schema: run.Schema, Name: res.Table, Columns: res.Columns, Rows: rows,
		InTx: func(ctx context.Context, tx pgx.Tx, ident string, n int64) error {
			run.Table, run.Rows = ident, n
			run.FinishedAt = time.Now()
			run.WriteSeconds = time.Since(start).Seconds()
			if err := settle(ctx, tx, run); err != nil {
				return err
			}
			id, err := InsertRun(ctx, tx, *run)
			if err != nil {
				return err
			}
			if err := levels(ctx, tx, id); err != nil {
				return err
			}
			return InsertSummaries(ctx, tx, id, *run, run.Summaries)
		},
	})
	return s.classify(ctx, err)
}

// settle records a queued run's outcome on its job in the publishing
// transaction: the table, the catalog row and the job's status commit
// together, and a job superseded meanwhile publishes nothing.
func settle(ctx context.Context, tx pgx.Tx, run *analysis.Run) error {
	if run.JobID == 0 {
		return nil
	}
	if run.Status == analysis.StatusFailed {
		return SettleJobTx(ctx, tx, run.JobID, analysis.JobFailed, run.Reason, run.Error)
	}
	return SettleJobTx(ctx, tx, run.JobID, analysis.JobAnalysed, run.Reason, "")
}

// classify marks failures that may pass as transient: the server is down
// or unreachable (checked with a ping), or it said so itself (classes 08
// connection, 53 insufficient resources, 57 operator intervention).
func (s Sink) classify(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, analysis.ErrSuperseded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57":
			return fmt.Errorf("%w: %w", analysis.ErrTransient, err)
		}
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if perr := s.Pool.Ping(pctx); perr != nil || ctx.Err() != nil {
		return fmt.Errorf("%w: %w", analysis.ErrTransient, err)
	}
	return err
}

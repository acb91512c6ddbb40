package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/analysis"
)

// Tables writes analysis tables.
type Tables struct{ Pool *pgxpool.Pool }

// TableWrite is one table to (re)place.
type TableWrite struct {
	Schema  string // the uploader's username, or the batch analyzer's --schema
	Name    string // full name (job_<label>); shortened to 63 bytes if needed
	Columns []analysis.Column
	Rows    analysis.RowSource
	// InTx runs inside the transaction that publishes the table, after the
	// rows are in and before the commit: the catalog row goes here, so the
	// table and its record appear together or not at all.
	InTx func(ctx context.Context, tx pgx.Tx, ident string, rows int64) error
}

// Replace writes the table atomically: rows go into a new table by binary
// COPY, then the old table (if any) is dropped and the new one renamed in
// the same transaction. Readers see the old table until the commit; a
// failure at any point leaves it untouched. It returns the identifier used.
func (t Tables) Replace(ctx context.Context, w TableWrite) (string, int64, error) {
	if w.Schema == "" || len(w.Columns) == 0 {
		return "", 0, errors.New("write table: schema and columns are required")
	}
	ident := analysis.Identifier(w.Name)
	schema := analysis.Identifier(w.Schema)
	tmp := "bw_new_" + randomHex(8)
	var rows int64
	if err := ensureSchema(ctx, t.Pool, schema); err != nil {
		return "", 0, err
	}
	err := pgx.BeginFunc(ctx, t.Pool, func(tx pgx.Tx) error {
		defs := make([]string, len(w.Columns))
		for i, c := range w.Columns {
			defs[i] = quote(c.Name) + " " + c.Type.Postgres()
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s.%s (%s)", quote(schema), quote(tmp), strings.Join(defs, ", "))); err != nil {
			return fmt.Errorf("create table: %w", err)
		}
		n, err := copyRows(ctx, tx, pgx.Identifier{schema, tmp}, w.Columns, w.Rows)
		if err != nil {
			return fmt.Errorf("copy rows: %w", err)
		}
		rows = n
		// The exclusive lock on the old table is held only from here to
		// the commit.
		if _, err := tx.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s", quote(schema), quote(ident))); err != nil {
			return fmt.Errorf("drop old table: %w", err)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s RENAME TO %s", quote(schema), quote(tmp), quote(ident))); err != nil {
			return fmt.Errorf("rename table: %w", err)
		}
		if w.InTx != nil {
			return w.InTx(ctx, tx, ident, rows)
		}
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("write %s.%s: %w", schema, ident, err)
	}
	return ident, rows, nil
}

// quote makes an identifier safe for SQL, whatever it contains.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ensureSchema creates a schema if missing, in a short transaction of its
// own: two CREATE SCHEMA IF NOT EXISTS of one name at once make one of
// them fail (a unique violation), which a user's first two files analysed
// together would hit; a transaction-scoped lock on the name serialises
// just that step.
func ensureSchema(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('schema:' || $1, 0))`, schema); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(schema))
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return nil
}

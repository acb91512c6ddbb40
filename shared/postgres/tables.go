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
		names := make([]string, len(w.Columns))
		for i, c := range w.Columns {
			names[i] = c.Name
			defs[i] = quote(c.Name) + " " + c.Type.Postgres()
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s.%s (%s)", quote(schema), quote(tmp), strings.Join(defs, ", "))); err != nil {
			return fmt.Errorf("create table: %w", err)
		}
		n, err := copyRows(ctx, tx, pgx.Identifier{schema, tmp}, names, w.Rows)
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

// copyRows streams src into table with binary COPY. The source is read in
// its own goroutine and handed over in batches, so reading (DuckDB) and
// encoding/sending (pgx) overlap on two cores. Batches are recycled, so
// memory stays at a few batches whatever the table's size.
func copyRows(ctx context.Context, tx pgx.Tx, table pgx.Identifier, columns []string, src analysis.RowSource) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	width := len(columns)
	full := make(chan *rowBatch, 4)
	free := make(chan *rowBatch, 6)
	srcErr := make(chan error, 1)
	go func() {
		defer close(full)
		cur := takeBatch(free, width)
		err := src.ScanRows(ctx, func(row []any) error {
			if len(row) != width {
				return fmt.Errorf("row has %d values, table has %d columns", len(row), width)
			}
			copy(cur.rows[cur.n], row)
			cur.n++
			if cur.n < len(cur.rows) {
				return nil
			}
			select {
			case full <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			cur = takeBatch(free, width)
			return nil
		})
		if err == nil && cur.n > 0 {
			select {
			case full <- cur:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		srcErr <- err
	}()
	n, err := tx.CopyFrom(ctx, table, columns, &batchSource{full: full, free: free, i: -1})
	cancel() // stops the reader if the copy failed first
	if rerr := <-srcErr; err == nil && rerr != nil {
		err = rerr
	}
	return n, err
}

const batchRows = 2048

// rowBatch is batchRows rows backed by one allocation.
type rowBatch struct {
	rows [][]any
	n    int
}

func takeBatch(free chan *rowBatch, width int) *rowBatch {
	select {
	case b := <-free:
		b.n = 0
		return b
	default:
	}
	flat := make([]any, batchRows*width)
	b := &rowBatch{rows: make([][]any, batchRows)}
	for i := range b.rows {
		b.rows[i] = flat[i*width : (i+1)*width : (i+1)*width]
	}
	return b
}

// batchSource adapts the batches to pgx.CopyFromSource.
type batchSource struct {
	full chan *rowBatch
	free chan *rowBatch
	cur  *rowBatch
	i    int
}

func (s *batchSource) Next() bool {
	s.i++
	if s.cur != nil && s.i < s.cur.n {
		return true
	}
	if s.cur != nil {
		select { // every row of it has been encoded: hand it back
		case s.free <- s.cur:
		default:
		}
	}
	b, ok := <-s.full
	if !ok {
		s.cur = nil
		return false
	}
	s.cur, s.i = b, 0
	return b.n > 0
}

func (s *batchSource) Values() ([]any, error) { return s.cur.rows[s.i], nil }

func (s *batchSource) Err() error { return nil }

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

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// queryAll runs a query and scans each row with scan (scanJob,
// scanResultJob, ...). An error names what was asked for; no rows give a
// nil slice.
func queryAll[T any](ctx context.Context, q queryer, what string, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.AppendRows([]T(nil), rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// ReadTable returns the column names and every row of schema.name in its
// stored order, as pgx decodes them: the form tests and benchmarks compare
// with an expected CSV.
func ReadTable(ctx context.Context, q queryer, schema, name string) ([]string, [][]any, error) {
	rows, err := q.Query(ctx, "SELECT * FROM "+pgx.Identifier{schema, name}.Sanitize())
	if err != nil {
		return nil, nil, fmt.Errorf("read %s.%s: %w", schema, name, err)
	}
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	data, err := pgx.AppendRows([][]any(nil), rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	if err != nil {
		return nil, nil, fmt.Errorf("read %s.%s: %w", schema, name, err)
	}
	return cols, data, nil
}

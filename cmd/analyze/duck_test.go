package main

import (
	"database/sql"
	"testing"

	"github.com/benchwrap/backend/shared/duckdb"
)

func openDuck(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := duckdb.OpenSQL(path + "?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func duckTable(t *testing.T, path, schema, table string) ([]string, [][]any) {
	t.Helper()
	rows, err := openDuck(t, path).Query(`SELECT * FROM "` + schema + `"."` + table + `"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	return cols, out
}

func duckStatuses(t *testing.T, path string) string {
	t.Helper()
	var s string
	if err := openDuck(t, path).QueryRow(`SELECT string_agg(status, ',' ORDER BY id) FROM analysis_runs`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

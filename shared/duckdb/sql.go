// Package duckdb is the adapter to DuckDB database files: the driver's
// database/sql handle and identifier quoting. The batch CLI's result
// store and price cache (sub-package store) write through it.
package duckdb

import (
	"database/sql"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver
)

// OpenSQL opens a database/sql handle on DuckDB: dsn is a database file
// (with ?options, e.g. access_mode=read_only) or "" for an in-memory
// database. For readers outside this tree (tests reading a result file or
// Parquet), so that the driver stays an import of the adapter only.
func OpenSQL(dsn string) (*sql.DB, error) { return sql.Open("duckdb", dsn) }

// Quote makes a DuckDB identifier of any name.
func Quote(name string) string {
	b := make([]byte, 0, len(name)+2)
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		if name[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, name[i])
	}
	return string(append(b, '"'))
}

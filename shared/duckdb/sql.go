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

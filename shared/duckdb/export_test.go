package duckdb

import "context"

// Hooks of the package's own tests (scan_test.go).

// ReorderLimit is ScanRows' reorder bound.
var ReorderLimit = &reorderLimit

// ExecForTest runs a statement on the engine's database.
func (e *Engine) ExecForTest(query string) error { return e.exec(context.Background(), query) }

// SetResultNameForTest makes ScanRows read another view as the result.
func (e *Engine) SetResultNameForTest(name string) { e.result.Name = name }

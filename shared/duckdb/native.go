package duckdb

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// The engine talks to DuckDB through duckdb-go's C API mapping rather than
// database/sql: appends fill whole data chunks (no value boxed per cell),
// and scans stream (database/sql's driver materializes every result
// before the first row, which for the final table is the whole table in
// memory) and read the vectors directly.

// DB is one in-memory database with one connection.
type DB struct {
	db   mapping.Database
	conn mapping.Connection
}

// dbError is an error reported by DuckDB, with its class.
type dbError struct {
	typ mapping.ErrorType
	msg string
}

func (e *dbError) Error() string { return e.msg }

// isDataError reports whether err comes from the data (a cast or a value
// out of range) rather than from the engine.
func isDataError(err error) bool {
	var de *dbError
	if !errors.As(err, &de) {
		return false
	}
	switch de.typ {
	case mapping.ErrorTypeConversion, mapping.ErrorTypeOutOfRange, mapping.ErrorTypeInvalidInput, mapping.ErrorTypeDivideByZero:
		return true
	}
	return false
}

// isCatalogError reports a DuckDB catalog error (e.g. dropping a view
// that is a table).
func isCatalogError(err error) bool {
	var de *dbError
	return errors.As(err, &de) && de.typ == mapping.ErrorTypeCatalog
}

func openNative(settings [][2]string) (*DB, error) {
	var cfg mapping.Config
	if mapping.CreateConfig(&cfg) == mapping.StateError {
		return nil, errors.New("create config")
	}
	defer mapping.DestroyConfig(&cfg)
	for _, kv := range settings {
		if mapping.SetConfig(cfg, kv[0], kv[1]) == mapping.StateError {
			return nil, fmt.Errorf("setting %s=%s refused", kv[0], kv[1])
		}
	}
	n := &DB{}
	var msg string
	if mapping.OpenExt("", &n.db, cfg, &msg) == mapping.StateError {
		mapping.Close(&n.db)
		return nil, errors.New(msg)
	}
	if mapping.Connect(n.db, &n.conn) == mapping.StateError {
		mapping.Close(&n.db)
		return nil, errors.New("connect")
	}
	return n, nil
}

func (n *DB) close() {
	mapping.Disconnect(&n.conn)
	mapping.Close(&n.db)
}

// watch interrupts the running query when ctx is done; call the returned
// function when the query has finished.
func (n *DB) watch(ctx context.Context) func() {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			mapping.Interrupt(n.conn)
		case <-done:
		}
	}()
	return func() { close(done); <-stopped }
}

// query runs a statement and returns its (materialized) result, which the
// caller destroys.
func (n *DB) Query(ctx context.Context, q string) (mapping.Result, error) {
	if err := ctx.Err(); err != nil {
		return mapping.Result{}, err
	}
	var res mapping.Result
	stop := n.watch(ctx)
	state := mapping.Query(n.conn, q, &res)
	stop()
	if state == mapping.StateError {
		err := &dbError{typ: mapping.ResultErrorType(&res), msg: mapping.ResultError(&res)}
		mapping.DestroyResult(&res)
		if cerr := ctx.Err(); cerr != nil {
			return res, cerr
		}
		return res, err
	}
	return res, nil
}

// exec runs a statement.
func (n *DB) Exec(ctx context.Context, q string) error {
	res, err := n.Query(ctx, q)
	if err != nil {
		return err
	}
	mapping.DestroyResult(&res)
	return nil
}

// row runs a query and returns its first row (nil if none), values read
// as by value.
func (n *DB) Row(ctx context.Context, q string) ([]any, error) {
	res, err := n.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer mapping.DestroyResult(&res)
	cols := int(mapping.ColumnCount(&res))
	ch := mapping.FetchChunk(res)
	if ch.Ptr == nil {
		return nil, nil
	}
	defer mapping.DestroyDataChunk(&ch)
	if mapping.DataChunkGetSize(ch) == 0 {
		return nil, nil
	}
	out := make([]any, cols)
	for c := 0; c < cols; c++ {
		v := NewColumnReader(mapping.DataChunkGetVector(ch, mapping.IdxT(c)), mapping.ColumnType(&res, mapping.IdxT(c)))
		out[c] = v.Value(0)
	}
	return out, nil
}

// stream runs a query as a streaming result and passes each data chunk
// to fn (valid until fn returns).
func (n *DB) Stream(ctx context.Context, q string, fn func(ch mapping.DataChunk, types []mapping.Type) error) error {
	return n.StreamOwned(ctx, q, func(ch mapping.DataChunk, types []mapping.Type) error {
		err := fn(ch, types)
		mapping.DestroyDataChunk(&ch)
		return err
	})
}

// pipeline is stream with fn run in the calling goroutine while another
// goroutine makes DuckDB compute the next chunks: DuckDB's work and fn's
// overlap on two cores (with threads = 1, DuckDB computes a streaming
// result in the goroutine that fetches it).
func (n *DB) Pipeline(ctx context.Context, q string, fn func(ch mapping.DataChunk, types []mapping.Type) error) (err error) {
	type item struct {
		ch    mapping.DataChunk
		types []mapping.Type
	}
	items := make(chan item, 4)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer close(items)
		done <- n.StreamOwned(ctx, q, func(ch mapping.DataChunk, types []mapping.Type) error {
			select {
			case items <- item{ch, types}:
				return nil
			case <-stop:
				mapping.DestroyDataChunk(&ch)
				return errStopped
			}
		})
	}()
	// However fn ends (error or panic), stop the producer, free what it
	// has fetched and wait for it: the connection is then free again.
	defer func() {
		close(stop)
		for it := range items {
			mapping.DestroyDataChunk(&it.ch)
		}
		if perr := <-done; err == nil && perr != errStopped {
			err = perr
		}
	}()
	for it := range items {
		ferr := fn(it.ch, it.types)
		mapping.DestroyDataChunk(&it.ch)
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

var errStopped = errors.New("stopped")

// streamOwned is stream where fn owns (and destroys) each chunk.
func (n *DB) StreamOwned(ctx context.Context, q string, fn func(ch mapping.DataChunk, types []mapping.Type) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := n.watch(ctx)
	defer stop()
	var stmt mapping.PreparedStatement
	if mapping.Prepare(n.conn, q, &stmt) == mapping.StateError {
		err := errors.New(mapping.PrepareError(stmt))
		mapping.DestroyPrepare(&stmt)
		return err
	}
	defer mapping.DestroyPrepare(&stmt)
	var pending mapping.PendingResult
	// The only streaming entry of the C API (deprecated there, kept by
	// the pinned bindings); a materialized result would hold the whole
	// table.
	if bindings.PendingPreparedStreaming(stmt, &pending) == mapping.StateError {
		err := errors.New(mapping.PendingError(pending))
		mapping.DestroyPending(&pending)
		return err
	}
	defer mapping.DestroyPending(&pending)
	var res mapping.Result
	if mapping.ExecutePending(pending, &res) == mapping.StateError {
		err := &dbError{typ: mapping.ResultErrorType(&res), msg: mapping.ResultError(&res)}
		mapping.DestroyResult(&res)
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return err
	}
	defer mapping.DestroyResult(&res)
	types := make([]mapping.Type, mapping.ColumnCount(&res))
	for i := range types {
		types[i] = mapping.ColumnType(&res, mapping.IdxT(i))
	}
	for {
		ch := mapping.FetchChunk(res)
		if ch.Ptr == nil {
			if msg := mapping.ResultError(&res); msg != "" {
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
				return &dbError{typ: mapping.ResultErrorType(&res), msg: msg}
			}
			return ctx.Err()
		}
		if err := fn(ch, types); err != nil {
			return err
		}
	}
}

// ColumnReader reads one vector of a flat data chunk.
type ColumnReader struct {
	typ   mapping.Type
	data  unsafe.Pointer
	valid unsafe.Pointer // validity mask, nil when every row is valid
}

func NewColumnReader(v mapping.Vector, typ mapping.Type) ColumnReader {
	return ColumnReader{typ: typ, data: mapping.VectorGetData(v), valid: mapping.VectorGetValidity(v)}
}

func (r *ColumnReader) IsNull(i int) bool {
	if r.valid == nil {
		return false
	}
	word := *(*uint64)(unsafe.Add(r.valid, (i>>6)*8))
	return word&(1<<(uint(i)&63)) == 0
}

// value returns row i as uint16, uint32, uint64, int64, float32, float64
// (for USMALLINT, UINTEGER, UBIGINT, BIGINT/INTEGER, FLOAT, DOUBLE), bool,
// or nil for NULL.
func (r *ColumnReader) Value(i int) any {
	if r.IsNull(i) {
		return nil
	}
	switch r.typ {
	case mapping.TypeUSmallInt:
		return *(*uint16)(unsafe.Add(r.data, i*2))
	case mapping.TypeUInteger:
		return *(*uint32)(unsafe.Add(r.data, i*4))
	case mapping.TypeUBigInt:
		return *(*uint64)(unsafe.Add(r.data, i*8))
	case mapping.TypeBigInt:
		return *(*int64)(unsafe.Add(r.data, i*8))
	case mapping.TypeInteger:
		return int64(*(*int32)(unsafe.Add(r.data, i*4)))
	case mapping.TypeFloat:
		return *(*float32)(unsafe.Add(r.data, i*4))
	case mapping.TypeDouble:
		return *(*float64)(unsafe.Add(r.data, i*8))
	case mapping.TypeBoolean:
		return *(*bool)(unsafe.Add(r.data, i))
	case mapping.TypeVarchar:
		return varchar(r.data, i)
	}
	// The engine only reads columns of the types above (its own queries).
	panic(fmt.Sprintf("duckdb: unexpected column type %d", r.typ))
}

// Appender appends rows to a table through DuckDB's Appender, one
// data chunk (VectorSize rows) at a time. The columns are UBIGINT,
// BIGINT or DOUBLE; set writes a chunk's values directly.
type Appender struct {
	app   mapping.Appender
	types []mapping.LogicalType
	ch    mapping.DataChunk
	err   error
}

var VectorSize = int(mapping.VectorSize())

func (n *DB) NewAppender(table string, types []mapping.Type) (*Appender, error) {
	a := &Appender{}
	if mapping.AppenderCreateExt(n.conn, "", "", table, &a.app) == mapping.StateError {
		err := errors.New(mapping.AppenderError(a.app))
		mapping.AppenderDestroy(&a.app)
		return nil, err
	}
	for _, t := range types {
		a.types = append(a.types, mapping.CreateLogicalType(t))
	}
	a.ch = mapping.CreateDataChunk(a.types)
	return a, nil
}

// uint64s, int64s and float64s return column c of the current chunk.
func (a *Appender) Uint64s(c int) []uint64 {
	return unsafe.Slice((*uint64)(mapping.VectorGetData(mapping.DataChunkGetVector(a.ch, mapping.IdxT(c)))), VectorSize)
}

func (a *Appender) Int64s(c int) []int64 {
	return unsafe.Slice((*int64)(mapping.VectorGetData(mapping.DataChunkGetVector(a.ch, mapping.IdxT(c)))), VectorSize)
}

func (a *Appender) Float64s(c int) []float64 {
	return unsafe.Slice((*float64)(mapping.VectorGetData(mapping.DataChunkGetVector(a.ch, mapping.IdxT(c)))), VectorSize)
}

// Vector returns column c of the current chunk.
func (a *Appender) Vector(c int) mapping.Vector {
	return mapping.DataChunkGetVector(a.ch, mapping.IdxT(c))
}

// setNull marks row i of column c NULL in the current chunk.
func (a *Appender) SetNull(c, i int) {
	v := mapping.DataChunkGetVector(a.ch, mapping.IdxT(c))
	mapping.VectorEnsureValidityWritable(v)
	mapping.ValiditySetRowInvalid(mapping.VectorGetValidity(v), mapping.IdxT(i))
}

// flush appends the first rows of the current chunk and resets it.
func (a *Appender) Flush(rows int) error {
	if rows == 0 {
		return nil
	}
	mapping.DataChunkSetSize(a.ch, mapping.IdxT(rows))
	if mapping.AppendDataChunk(a.app, a.ch) == mapping.StateError {
		return errors.New(mapping.AppenderError(a.app))
	}
	mapping.DataChunkReset(a.ch)
	return nil
}

// close flushes the appender to the table and frees it.
func (a *Appender) Close() error {
	var err error
	if mapping.AppenderClose(a.app) == mapping.StateError {
		err = errors.New(mapping.AppenderError(a.app))
	}
	mapping.AppenderDestroy(&a.app)
	mapping.DestroyDataChunk(&a.ch)
	for i := range a.types {
		mapping.DestroyLogicalType(&a.types[i])
	}
	return err
}

// varchar reads row i of a VARCHAR vector's data as a string. The
// corrected table's step and node columns are VARCHAR.
func varchar(data unsafe.Pointer, i int) string {
	return string(varcharBytes(data, i))
}

// varcharBytes returns the bytes of row i of a VARCHAR vector's data,
// without copying (valid while the data chunk is). Each value is a 16-byte
// duckdb_string_t: a uint32 length, then the bytes themselves if there are
// at most 12 of them, else a 4-byte prefix and a pointer to the bytes.
// Reading it here avoids a cgo call per value.
func varcharBytes(data unsafe.Pointer, i int) []byte {
	p := unsafe.Add(data, i*16)
	n := *(*uint32)(p)
	if n <= 12 {
		return unsafe.Slice((*byte)(unsafe.Add(p, 4)), n)
	}
	return unsafe.Slice(*(**byte)(unsafe.Add(p, 8)), n)
}

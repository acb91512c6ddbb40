package duckdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/benchwrap/backend/shared/analysis"
)

// ErrNoTable is returned by ScanRows and WriteCSV when the last run left
// no table (it was skipped, failed, or there was none yet).
var ErrNoTable = errors.New("duckdb: no result table")

var _ analysis.FloatRowSource = (*Engine)(nil)

// ScanFloatRows streams the last result table's rows unboxed when its
// pipeline produces them in Go (analysis.FloatRowSource).
func (e *Engine) ScanFloatRows(ctx context.Context, fn func(texts []string, values []float64) error) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.result
	if t == nil || e.db == nil || t.ScanFloats == nil {
		return false, nil // ScanRows says why there is no table
	}
	return true, t.ScanFloats(ctx, fn)
}

var _ analysis.SeriesRangeSource = (*Engine)(nil)

// SeriesRanges announces the series of the last result table when its
// pipeline knows them (Table.Ranges), else nil
// (analysis.SeriesRangeSource).
func (e *Engine) SeriesRanges() []analysis.SeriesRange {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.result; t != nil && t.Ranges != nil {
		return t.Ranges()
	}
	return nil
}

// ScanRows streams the rows of the last result table in order
// (analysis.RowSource). fn gets a slice it must not keep; its values are,
// by column type: UInt16 uint16, UInt32 uint32, UInt64 uint64, Int64
// int64, Float32 float32, Float64 float64, and nil for NULL. An error from
// fn stops the scan and is returned. The table is computed as it is read
// (see ResultTable), so each scan costs the final query.
func (e *Engine) ScanRows(ctx context.Context, fn func(row []any) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.result
	if t == nil || e.db == nil {
		return ErrNoTable
	}
	if t.Scan != nil {
		return t.Scan(ctx, fn)
	}
	sel := make([]string, len(t.Columns), len(t.Columns)+1)
	for i, c := range t.Columns {
		sel[i] = Quote(c.Name)
	}
	if !t.Ordered {
		sel = append(sel, HiddenPos)
	}
	query := "SELECT " + strings.Join(sel, ", ") + " FROM " + t.Name
	// The joins of the view probe with the ordered skeleton when the
	// optimizer keeps them as written; the rows then come almost in order.
	// DuckDB computes on one thread, in the goroutine that fetches; fn
	// and the conversion of the values run on another core (pipeline).
	// More DuckDB threads only contend for the same two cores, and one
	// thread keeps the rows closer to their order.
	for _, q := range []string{"SET disabled_optimizers = 'join_order,build_side_probe_side'", "SET threads = 1"} {
		if err := e.exec(ctx, q); err != nil {
			return err
		}
	}
	defer func() {
		_ = e.exec(context.Background(), "RESET disabled_optimizers")
		_ = e.exec(context.Background(), "SET threads = "+strconv.Itoa(e.opt.Threads))
	}()
	o := orderer{fn: fn, width: len(t.Columns), row: make([]any, len(t.Columns)), pending: make(map[int64][]any), ordered: t.Ordered}
	err := e.db.Pipeline(ctx, query, o.chunk)
	if err == errReorder {
		// Too far out of order (a hash join that outgrew the memory limit
		// partitions its rows): the rest goes into a table first, which
		// DuckDB spills to its temp directory, then comes sorted from it.
		// (Sorting the view itself holds the joins and the sort at once:
		// out of memory on a jittered 2,000,000-row file at 1 GB.)
		o.pending = nil
		const rest = "bw_scan_rest"
		err = e.exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS %s WHERE %s >= %d", rest, query, HiddenPos, o.next))
		if err == nil {
			err = e.db.Pipeline(ctx, fmt.Sprintf("SELECT * FROM %s ORDER BY %s", rest, HiddenPos), o.chunk)
		}
		_ = e.exec(context.Background(), "DROP TABLE IF EXISTS "+rest)
	}
	if err != nil {
		return err
	}
	if len(o.pending) > 0 || o.next != t.Rows {
		return fmt.Errorf("duckdb: scan produced %d of %d rows in order", o.next, t.Rows)
	}
	return nil
}

// reorderLimit bounds the rows ScanRows holds back to put them in order.
// DuckDB emits a hash join's rows per input chunk, and only rows that
// needed a second probe move within their chunk (a few per thousand), so
// the rows held at once stay far below it; past it, the scan falls back to
// an ORDER BY for the remaining rows.
var reorderLimit = 1 << 15

var errReorder = errors.New("rows too far out of order")

// orderer passes rows to fn by position, holding back the early ones.
type orderer struct {
	fn      func([]any) error
	width   int
	row     []any
	next    int64 // position of the next row to pass on
	pending map[int64][]any
	cols    []ColumnReader
	ordered bool       // no position column: the rows come in order
	buf     []any      // a chunk's values, row by row (fast path)
	last    []boxCache // per column
}

// boxCache keeps a column's last boxed value: a value equal to the
// previous row's (constant or slowly changing columns) reuses it instead
// of allocating.
type boxCache struct {
	bits uint64
	str  string // VARCHAR columns compare the whole value
	box  any
}

// inOrder reports whether the chunk's n rows are the next n positions.
func (o *orderer) inOrder(n int) bool {
	if o.ordered {
		return true
	}
	pc := &o.cols[o.width]
	if pc.valid != nil || pc.typ != mapping.TypeBigInt {
		return false
	}
	pos := unsafe.Slice((*int64)(pc.data), n)
	for i, p := range pos {
		if p != o.next+int64(i) {
			return false
		}
	}
	return true
}

// fast passes a chunk whose rows are in order, converting the values
// column by column.
func (o *orderer) fast(n int) error {
	w := o.width
	if cap(o.buf) < n*w {
		o.buf = make([]any, n*w)
	}
	if len(o.last) != w {
		o.last = make([]boxCache, w)
	}
	buf := o.buf[:n*w]
	for c := 0; c < w; c++ {
		col, lc := &o.cols[c], &o.last[c]
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				buf[i*w+c] = nil
				continue
			}
			var bits uint64
			switch col.typ {
			case mapping.TypeVarchar:
				// The first 8 bytes of a VARCHAR entry are its length and a
				// prefix, not its value: compare the string itself.
				if b := varcharBytes(col.data, i); lc.box == nil || string(b) != lc.str {
					lc.str = string(b)
					lc.box = lc.str
				}
				buf[i*w+c] = lc.box
				continue
			case mapping.TypeUSmallInt:
				bits = uint64(*(*uint16)(unsafe.Add(col.data, i*2)))
			case mapping.TypeUInteger, mapping.TypeFloat:
				bits = uint64(*(*uint32)(unsafe.Add(col.data, i*4)))
			default:
				bits = *(*uint64)(unsafe.Add(col.data, i*8))
			}
			if lc.box == nil || bits != lc.bits {
				lc.bits, lc.box = bits, col.Value(i)
			}
			buf[i*w+c] = lc.box
		}
	}
	for i := 0; i < n; i++ {
		if err := o.fn(buf[i*w : (i+1)*w : (i+1)*w]); err != nil {
			return err
		}
	}
	o.next += int64(n)
	return nil
}

// chunk handles one data chunk of the scan: the table's columns, then the
// position.
func (o *orderer) chunk(ch mapping.DataChunk, types []mapping.Type) error {
	o.cols = o.cols[:0]
	for c := range types {
		o.cols = append(o.cols, NewColumnReader(mapping.DataChunkGetVector(ch, mapping.IdxT(c)), types[c]))
	}
	n := int(mapping.DataChunkGetSize(ch))
	if len(o.pending) == 0 && o.inOrder(n) {
		return o.fast(n)
	}
	for i := 0; i < n; i++ {
		pos := o.next
		if !o.ordered {
			var ok bool
			if pos, ok = o.cols[o.width].Value(i).(int64); !ok {
				return errors.New("duckdb: row without position")
			}
		}
		switch {
		case pos == o.next:
			for c := range o.row {
				o.row[c] = o.cols[c].Value(i)
			}
			if err := o.fn(o.row); err != nil {
				return err
			}
			o.next++
		case pos > o.next && o.pending != nil:
			if len(o.pending) >= reorderLimit {
				return errReorder
			}
			held := make([]any, o.width)
			for c := range held {
				held[c] = o.cols[c].Value(i)
			}
			o.pending[pos] = held
			continue
		default:
			return fmt.Errorf("duckdb: row at position %d out of order (expected %d)", pos, o.next)
		}
		for len(o.pending) > 0 {
			held, ok := o.pending[o.next]
			if !ok {
				break
			}
			delete(o.pending, o.next)
			if err := o.fn(held); err != nil {
				return err
			}
			o.next++
		}
	}
	return nil
}

// Columns returns the columns of the last result table (nil if none).
func (e *Engine) Columns() []analysis.Column {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.result == nil {
		return nil
	}
	return append([]analysis.Column(nil), e.result.Columns...)
}

// WriteCSV writes the last result table as CSV (see the package WriteCSV).
func (e *Engine) WriteCSV(ctx context.Context, w io.Writer) error {
	cols := e.Columns()
	if cols == nil {
		return ErrNoTable
	}
	return WriteCSV(ctx, w, cols, e)
}

// Query streams the rows of a query on the engine's database, under the
// engine's lock, in the order DuckDB returns them (tests read the result
// table with it, text columns included). fn gets a slice it must not
// keep; values are as in ScanRows, VARCHAR as string.
func (e *Engine) Query(ctx context.Context, query string, fn func(row []any) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db == nil {
		return ErrNoTable
	}
	var row []any
	return e.db.Stream(ctx, query, func(ch mapping.DataChunk, types []mapping.Type) error {
		readers := make([]ColumnReader, len(types))
		for c := range types {
			readers[c] = NewColumnReader(mapping.DataChunkGetVector(ch, mapping.IdxT(c)), types[c])
		}
		if len(row) != len(types) {
			row = make([]any, len(types))
		}
		for i, n := 0, int(mapping.DataChunkGetSize(ch)); i < n; i++ {
			for c := range readers {
				row[c] = readers[c].Value(i)
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	})
}

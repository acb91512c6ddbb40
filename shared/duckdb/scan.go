package duckdb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/benchwrap/backend/shared/analysis"
)

// ErrNoTable is returned by ScanRows and WriteCSV when the last run left
// no table (it was skipped, failed, or there was none yet).
var ErrNoTable = errors.New("duckdb: no result table")

var _ analysis.RowSource = (*Engine)(nil)

// ScanRows streams the rows of the last result table in order
// (analysis.RowSource). fn gets a slice it must not keep; its values are,
// by column type: UInt16 uint16, UInt32 uint32, UInt64 uint64, Int64
// int64, Float32 float32, Float64 float64, and nil for NULL. An error from
// fn stops the scan and is returned. The table is computed as it is read
// (see resultTable), so each scan costs the final query.
func (e *Engine) ScanRows(ctx context.Context, fn func(row []any) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.result
	if t == nil || e.db == nil {
		return ErrNoTable
	}
	sel := make([]string, len(t.columns), len(t.columns)+1)
	for i, c := range t.columns {
		sel[i] = quote(c.Name)
	}
	sel = append(sel, hiddenPos)
	query := "SELECT " + strings.Join(sel, ", ") + " FROM " + t.name
	// The joins of the view probe with the ordered skeleton when the
	// optimizer keeps them as written; the rows then come almost in order.
	if err := e.exec(ctx, "SET disabled_optimizers = 'join_order,build_side_probe_side'"); err != nil {
		return err
	}
	defer e.exec(context.Background(), "RESET disabled_optimizers") //nolint:errcheck // best effort
	o := orderer{fn: fn, width: len(t.columns), row: make([]any, len(t.columns)), pending: make(map[int64][]any)}
	err := e.db.stream(ctx, query, o.chunk)
	if err == errReorder {
		// Too far out of order: the rest comes sorted by DuckDB.
		o.pending = nil
		err = e.db.stream(ctx, fmt.Sprintf("%s WHERE %s >= %d ORDER BY %s", query, hiddenPos, o.next, hiddenPos), o.chunk)
	}
	if err != nil {
		return err
	}
	if len(o.pending) > 0 || o.next != t.rows {
		return fmt.Errorf("duckdb: scan produced %d of %d rows in order", o.next, t.rows)
	}
	return nil
}

// reorderLimit bounds the rows ScanRows holds back to put them in order.
// DuckDB emits a hash join's rows per input chunk, and only rows that
// needed a second probe move within their chunk (a few per thousand), so
// the rows held at once stay far below it; past it, the scan falls back to
// an ORDER BY for the remaining rows.
const reorderLimit = 1 << 15

var errReorder = errors.New("rows too far out of order")

// orderer passes rows to fn by position, holding back the early ones.
type orderer struct {
	fn      func([]any) error
	width   int
	row     []any
	next    int64 // position of the next row to pass on
	pending map[int64][]any
	cols    []columnReader
}

// chunk handles one data chunk of the scan: the table's columns, then the
// position.
func (o *orderer) chunk(ch mapping.DataChunk, types []mapping.Type) error {
	o.cols = o.cols[:0]
	for c := range types {
		o.cols = append(o.cols, newColumnReader(mapping.DataChunkGetVector(ch, mapping.IdxT(c)), types[c]))
	}
	posCol := &o.cols[o.width]
	for i, n := 0, int(mapping.DataChunkGetSize(ch)); i < n; i++ {
		pos, ok := posCol.value(i).(int64)
		if !ok {
			return errors.New("duckdb: row without position")
		}
		switch {
		case pos == o.next:
			for c := range o.row {
				o.row[c] = o.cols[c].value(i)
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
				held[c] = o.cols[c].value(i)
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
	return append([]analysis.Column(nil), e.result.columns...)
}

// WriteCSV writes the last result table as the expected files do: a header
// row, NULL as an empty field, integers in decimal and floats as Python
// prints them (the shortest digits that read back as the same float32 or
// float64; ".0" on whole numbers; exponent form below 1e-4 and from 1e16).
func (e *Engine) WriteCSV(ctx context.Context, w io.Writer) error {
	cols := e.Columns()
	if cols == nil {
		return ErrNoTable
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	for i, c := range cols {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(csvField(c.Name))
	}
	bw.WriteByte('\n')
	var buf []byte
	err := e.ScanRows(ctx, func(row []any) error {
		buf = buf[:0]
		for i, v := range row {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = AppendValue(buf, v)
		}
		buf = append(buf, '\n')
		_, err := bw.Write(buf)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// csvField quotes a field if CSV needs it.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// AppendValue appends the CSV text of a table value (see WriteCSV); nil
// appends nothing.
func AppendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float32:
		return appendPyFloat(b, float64(x), 32)
	case float64:
		return appendPyFloat(b, x, 64)
	}
	return fmt.Append(b, v)
}

// appendPyFloat writes a float as Python's repr (numpy's for float32):
// shortest round-trip digits for the given bit size, positional with at
// least one decimal between 1e-4 and 1e16, exponent form outside.
func appendPyFloat(b []byte, x float64, bits int) []byte {
	switch {
	case math.IsNaN(x):
		return append(b, "nan"...)
	case math.IsInf(x, 1):
		return append(b, "inf"...)
	case math.IsInf(x, -1):
		return append(b, "-inf"...)
	case x == 0:
		if math.Signbit(x) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, x, 'e', -1, bits)
	e := strings.LastIndexByte(string(b[start:]), 'e')
	exp, _ := strconv.Atoi(string(b[start+e+1:]))
	if exp < -4 || exp >= 16 {
		return b // Go's exponent form is Python's: 1e-05, 1.5e+16
	}
	b = strconv.AppendFloat(b[:start], x, 'f', -1, bits)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

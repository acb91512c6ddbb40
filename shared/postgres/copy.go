package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/benchwrap/backend/shared/analysis"
)

// copyRows streams src into table with binary COPY. The rows are encoded
// straight from the source's values by the column's type, in the
// source's goroutine, into buffers that pgconn sends from its own: pgx's
// generic CopyFrom looks up an encode plan for every value, which cost
// more than reading and computing the table (issue 13). Buffers are
// recycled, so memory stays at a few of them whatever the table's size.
func copyRows(ctx context.Context, tx pgx.Tx, table pgx.Identifier, columns []analysis.Column, src analysis.RowSource) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = quote(c.Name)
	}
	r := &copyReader{full: make(chan []byte, 4), free: make(chan []byte, 6)}
	srcErr := make(chan error, 1)
	var rows int64
	go func() {
		defer close(r.full)
		e := copyEncoder{cols: columns, buf: r.take()}
		e.buf = append(e.buf, copyHeader...)
		send := func(b []byte) error {
			select {
			case r.full <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		added := func() error {
			rows++
			if len(e.buf) < copyBufferSize {
				return nil
			}
			if err := send(e.buf); err != nil {
				return err
			}
			e.buf = r.take()
			return nil
		}
		var done bool
		var err error
		if fs, ok := src.(analysis.FloatRowSource); ok {
			done, err = fs.ScanFloatRows(ctx, func(texts []string, values []float64) error {
				if err := e.floatRow(texts, values); err != nil {
					return err
				}
				return added()
			})
		}
		if !done && err == nil {
			err = src.ScanRows(ctx, func(row []any) error {
				if err := e.row(row); err != nil {
					return err
				}
				return added()
			})
		}
		if err == nil {
			err = send(binary.BigEndian.AppendUint16(e.buf, 0xffff)) // the trailer
		}
		r.err = err // read after full is closed: the copy is aborted, not ended
		srcErr <- err
	}()
	sql := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", table.Sanitize(), strings.Join(names, ", "))
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, r, sql)
	cancel() // stops the encoder if the copy failed first
	if rerr := <-srcErr; rerr != nil && (err == nil || !errors.Is(rerr, context.Canceled)) {
		err = rerr // the source's error is the cause; the copy only saw it abort
	}
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() != rows {
		return 0, fmt.Errorf("copy wrote %d of %d rows", tag.RowsAffected(), rows)
	}
	return rows, nil
}

// copyBufferSize is when a buffer is handed to the sender.
const copyBufferSize = 256 << 10

// copyHeader starts a binary COPY stream: signature, flags, extension
// length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyReader hands the encoded buffers to pgconn, in order.
type copyReader struct {
	full chan []byte
	free chan []byte
	cur  []byte
	off  int
	err  error // why the source stopped early, once full is closed
}

func (r *copyReader) take() []byte {
	select {
	case b := <-r.free:
		return b[:0]
	default:
		return make([]byte, 0, copyBufferSize+64<<10)
	}
}

func (r *copyReader) Read(p []byte) (int, error) {
	for r.off >= len(r.cur) {
		if r.cur != nil {
			select { // every byte of it has been read: hand it back
			case r.free <- r.cur:
			default:
			}
		}
		b, ok := <-r.full
		if !ok {
			r.cur = nil
			if r.err != nil {
				return 0, r.err
			}
			return 0, io.EOF
		}
		r.cur, r.off = b, 0
	}
	n := copy(p, r.cur[r.off:])
	r.off += n
	return n, nil
}

// copyEncoder writes rows in COPY's binary format, each value as its
// column's PostgreSQL type (analysis.DType.Postgres).
type copyEncoder struct {
	cols []analysis.Column
	buf  []byte
}

func (e *copyEncoder) row(row []any) error {
	if len(row) != len(e.cols) {
		return fmt.Errorf("row has %d values, table has %d columns", len(row), len(e.cols))
	}
	b := binary.BigEndian.AppendUint16(e.buf, uint16(len(row)))
	for i, v := range row {
		if v == nil {
			b = appendNull(b)
			continue
		}
		var ok bool
		switch typ := e.cols[i].Type; typ {
		case analysis.Text:
			var s string
			if s, ok = v.(string); ok {
				b = appendText(b, s)
			}
		case analysis.UInt16, analysis.UInt32, analysis.UInt64, analysis.Int64:
			var n int64
			if n, ok = analysis.Int(v); ok {
				b, ok = appendInt(b, typ, n)
			}
		default:
			var f float64
			if f, ok = analysis.Float(v); ok {
				b, ok = appendFloat(b, typ, f)
			}
		}
		if !ok {
			return e.refuse(i, v)
		}
	}
	e.buf = b
	return nil
}

// floatRow is row for analysis.FloatRowSource's unboxed rows: texts, then
// values with NaN as NULL.
func (e *copyEncoder) floatRow(texts []string, values []float64) error {
	k := len(texts)
	if k+len(values) != len(e.cols) {
		return fmt.Errorf("row has %d values, table has %d columns", k+len(values), len(e.cols))
	}
	b := binary.BigEndian.AppendUint16(e.buf, uint16(len(e.cols)))
	for i, s := range texts {
		if e.cols[i].Type != analysis.Text {
			return e.refuse(i, s)
		}
		b = appendText(b, s)
	}
	for j, f := range values {
		if math.IsNaN(f) {
			b = appendNull(b)
			continue
		}
		var ok bool
		if b, ok = appendFloat(b, e.cols[k+j].Type, f); !ok {
			return e.refuse(k+j, f)
		}
	}
	e.buf = b
	return nil
}

func (e *copyEncoder) refuse(i int, v any) error {
	return fmt.Errorf("column %q (%s): cannot store %T %v", e.cols[i].Name, e.cols[i].Type.Postgres(), v, v)
}

func appendNull(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, math.MaxUint32) // length -1
}

func appendText(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}

// appendInt writes n as an integer column's type: UInt16 as integer, the
// others as bigint.
func appendInt(b []byte, typ analysis.DType, n int64) ([]byte, bool) {
	if typ == analysis.UInt16 {
		if n < math.MinInt32 || n > math.MaxInt32 {
			return b, false
		}
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, 4), uint32(int32(n))), true
	}
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(b, 8), uint64(n)), true
}

// appendFloat writes f as a column's type: real, double precision, or a
// whole number for an integer column.
func appendFloat(b []byte, typ analysis.DType, f float64) ([]byte, bool) {
	switch typ {
	case analysis.Float32:
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, 4), math.Float32bits(float32(f))), true
	case analysis.UInt16, analysis.UInt32, analysis.UInt64, analysis.Int64:
		if n, ok := analysis.Int(f); ok {
			return appendInt(b, typ, n)
		}
		return b, false
	case analysis.Text:
		return b, false
	}
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(b, 8), math.Float64bits(f)), true
}

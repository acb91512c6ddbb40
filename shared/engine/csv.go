package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/benchwrap/backend/shared/analysis"
)

// WriteCSV writes a table as the expected files do: a header row of cols,
// then src's rows, NULL as an empty field, integers in decimal and floats
// as Python prints them (the shortest digits that read back as the same
// float32 or float64; ".0" on whole numbers; exponent form below 1e-4 and
// from 1e16).
func WriteCSV(ctx context.Context, w io.Writer, cols []analysis.Column, src analysis.RowSource) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i, c := range cols {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(csvField(c.Name))
	}
	bw.WriteByte('\n')
	var buf []byte
	err := src.ScanRows(ctx, func(row []any) error {
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
	case string:
		return append(b, csvField(x)...)
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

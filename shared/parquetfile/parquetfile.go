// Package parquetfile writes tables as Parquet files (the adapter of
// github.com/parquet-go/parquet-go): nullable float64 and text columns,
// written a row group at a time, so a table of any length streams.
package parquetfile

import (
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/parquet-go/parquet-go"
)

// Column is a column of the table: float64 unless Text.
type Column struct {
	Name string
	Text bool
}

// Writer writes rows of []any (float64, string, or nil for NULL; NaN is
// written as NULL) in the order of its columns.
type Writer struct {
	w     *parquet.Writer
	index []int // schema leaf -> input position
	text  []bool
	batch []parquet.Row
}

const batchRows = 4096

// NewWriter starts a Parquet file on out. Column names must be distinct.
func NewWriter(out io.Writer, cols []Column) (*Writer, error) {
	g := parquet.Group{}
	pos := map[string]int{}
	for i, c := range cols {
		if _, dup := pos[c.Name]; dup {
			return nil, fmt.Errorf("parquet: column %q twice", c.Name)
		}
		pos[c.Name] = i
		if c.Text {
			g[c.Name] = parquet.Optional(parquet.String())
		} else {
			g[c.Name] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
		}
	}
	schema := parquet.NewSchema("table", g)
	// A group's leaves are in name order; rows are built in that order.
	names := make([]string, 0, len(cols))
	for _, c := range cols {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	w := &Writer{w: parquet.NewWriter(out, schema, parquet.Compression(&parquet.Zstd))}
	for _, n := range names {
		w.index = append(w.index, pos[n])
		w.text = append(w.text, cols[pos[n]].Text)
	}
	return w, nil
}

// Write adds a row.
func (w *Writer) Write(values []any) error {
	row := make(parquet.Row, len(w.index))
	for leaf, i := range w.index {
		var v parquet.Value
		switch x := values[i].(type) {
		case nil:
		case string:
			v = parquet.ByteArrayValue([]byte(x))
		case float64:
			if !math.IsNaN(x) {
				v = parquet.DoubleValue(x)
			}
		default:
			return fmt.Errorf("parquet: column %d: unsupported %T", i, x)
		}
		if w.text[leaf] {
			if _, ok := values[i].(string); !ok && values[i] != nil {
				return fmt.Errorf("parquet: column %d: text column got %T", i, values[i])
			}
		}
		if v.IsNull() {
			row[leaf] = parquet.Value{}.Level(0, 0, leaf)
		} else {
			row[leaf] = v.Level(0, 1, leaf)
		}
	}
	w.batch = append(w.batch, row)
	if len(w.batch) >= batchRows {
		return w.flush()
	}
	return nil
}

func (w *Writer) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	_, err := w.w.WriteRows(w.batch)
	w.batch = w.batch[:0]
	return err
}

// Close writes the rest and the footer.
func (w *Writer) Close() error {
	if err := w.flush(); err != nil {
		return err
	}
	return w.w.Close()
}

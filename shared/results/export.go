package results

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/parquetfile"
)

// Export is a job's full-resolution table: the rows of every analysed
// file, one after the other, with the file's key in front. Columns a file
// lacks are NULL in its rows.
type Export struct {
	Job     string
	Columns []parquetfile.Column
	store   Store
	files   []File
}

// Export formats.
const (
	FormatCSV     = "csv"
	FormatParquet = "parquet"
)

// Export prepares the export of one of the user's jobs.
func (s *Service) Export(ctx context.Context, username, job string) (*Export, error) {
	files, err := s.jobFiles(ctx, username, job)
	if err != nil {
		return nil, err
	}
	return NewExport(s.Store, job, files), nil
}

// NewExport is the export of the given files of a job.
func NewExport(st Store, job string, files []File) *Export {
	e := &Export{Job: job, store: st, Columns: []parquetfile.Column{{Name: "file", Text: true}}}
	seen := map[string]bool{"file": true}
	for _, f := range files {
		if f.Table == "" {
			continue
		}
		e.files = append(e.files, f)
		for i, c := range f.Columns {
			if !seen[c] {
				seen[c] = true
				e.Columns = append(e.Columns, parquetfile.Column{Name: c, Text: i < len(f.Types) && f.Types[i] == "Text"})
			}
		}
	}
	return e
}

// Rows streams the rows: the file key, then the values (float64, string
// or nil).
func (e *Export) Rows(ctx context.Context, fn func(row []any) error) error {
	names := make([]string, len(e.Columns)-1)
	for i, c := range e.Columns[1:] {
		names[i] = c.Name
	}
	out := make([]any, len(e.Columns))
	for _, f := range e.files {
		out[0] = f.Key
		err := e.store.ScanTable(ctx, f.Schema, f.Table, names, f.Columns, func(row []any) error {
			for i, v := range row {
				out[i+1] = plain(v)
			}
			return fn(out)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// plain makes a database value float64, string or nil.
func plain(v any) any {
	switch x := v.(type) {
	case nil, string:
		return x
	case float64:
		if math.IsNaN(x) {
			return nil
		}
		return x
	}
	if f := analysis.Number(v); !math.IsNaN(f) {
		return f
	}
	return fmt.Sprint(v)
}

// WriteCSV writes the table as CSV: a header, empty fields for NULL,
// numbers in their shortest exact form.
func (e *Export) WriteCSV(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(e.Columns))
	for i, c := range e.Columns {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	err := e.Rows(ctx, func(row []any) error {
		for i, v := range row {
			switch x := v.(type) {
			case nil:
				rec[i] = ""
			case string:
				rec[i] = x
			case float64:
				rec[i] = strconv.FormatFloat(x, 'g', -1, 64)
			}
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteParquet writes the table as Parquet.
func (e *Export) WriteParquet(ctx context.Context, w io.Writer) error {
	pw, err := parquetfile.NewWriter(w, e.Columns)
	if err != nil {
		return err
	}
	if err := e.Rows(ctx, pw.Write); err != nil {
		return err
	}
	return pw.Close()
}

// Write writes the table in a format.
func (e *Export) Write(ctx context.Context, format string, w io.Writer) error {
	if format == FormatParquet {
		return e.WriteParquet(ctx, w)
	}
	return e.WriteCSV(ctx, w)
}

// ParseFormat checks format=; empty is CSV.
func ParseFormat(s string) (string, error) {
	switch s {
	case "", FormatCSV:
		return FormatCSV, nil
	case FormatParquet:
		return FormatParquet, nil
	}
	return "", apperr.New(apperr.BadRequest, "format must be csv or parquet.")
}

package compat

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/engine/internal/enginetest"
	"github.com/benchwrap/backend/testkit/testenv"
)

var (
	fixtureDir  = testenv.FixtureDir()
	expectedDir = testenv.ExpectedDir()
)

var skipClasses = map[string]analysis.SkipClass{
	"file does not exist":                      analysis.SkipMissing,
	"file is empty":                            analysis.SkipEmpty,
	"not a valid HDF5 file":                    analysis.SkipNotHDF5,
	"unreadable HDF5 (corrupted or truncated)": analysis.SkipUnreadable,
	"unexpected processing error":              analysis.SkipUnexpected,
	"no usable data produced":                  analysis.SkipNoData,
}

// testEngine is an engine with its compat pipeline.
type testEngine struct {
	*engine.Engine
	*Pipeline
}

// openEngine opens an engine with opt for a test; it is closed when the
// test ends.
func openEngine(t testing.TB, opt engine.Options) *testEngine {
	e := enginetest.Open(t, opt)
	return &testEngine{e, New(e)}
}

// Compat runs the pipeline on the engine.
func (e *testEngine) Compat(ctx context.Context, path string, opt Options) (*analysis.Result, error) {
	return e.Pipeline.Run(ctx, path, opt)
}

func newTestEngine(t testing.TB) *testEngine { return openEngine(t, enginetest.TestOptions) }

// TestCompatConformance runs every fixture and compares it with the
// original pipeline's output: skip class, columns and dtypes, rows,
// metrics (1e-9 relative), the details, and every cell (integers exactly,
// floats within 1e-6 relative, NULL exactly where NULL).
func TestCompatConformance(t *testing.T) {
	fixtures, _ := filepath.Glob(filepath.Join(fixtureDir, "*.h5"))
	if len(fixtures) < 18 {
		t.Fatalf("found %d fixtures, want 18", len(fixtures))
	}
	e := newTestEngine(t)
	for _, fx := range fixtures {
		t.Run(filepath.Base(fx), func(t *testing.T) {
			name := testenv.ExpectedName(t, fx)
			want, _ := testenv.LoadExpected(t, fx)
			res, err := e.Compat(context.Background(), fx, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.JobID != want.Details.JobID || res.Table != want.Details.TableName {
				t.Errorf("job id %q table %q, want %q %q", res.JobID, res.Table, want.Details.JobID, want.Details.TableName)
			}
			if want.Details.Groups != nil {
				compareGroups(t, res.Details.Groups, want.Details.Groups)
			}
			if want.SkipReason != nil {
				class, ok := skipClasses[*want.SkipReason]
				if !ok {
					t.Fatalf("unknown skip reason %q", *want.SkipReason)
				}
				if res.Skip == nil || res.Skip.Class != class {
					t.Fatalf("skip %v, want class %s", res.Skip, class)
				}
				if res.Metrics != nil || res.Rows != 0 || len(res.Columns) != 0 {
					t.Errorf("skipped file has rows %d, columns %v, metrics %v", res.Rows, res.Columns, res.Metrics)
				}
				if err := e.ScanRows(context.Background(), func([]any) error { return nil }); err != engine.ErrNoTable {
					t.Errorf("ScanRows after a skip: %v", err)
				}
				return
			}
			if res.Skip != nil {
				t.Fatalf("skipped: %v", res.Skip)
			}
			for _, c := range []struct {
				what string
				got  string
				want *string
			}{
				{"group", res.Details.Group, want.Details.Group},
				{"epoch column", res.Details.EpochColumn, want.Details.EpochColumn},
				{"power column", res.Details.PowerColumn, want.Details.PowerColumn},
				{"energy column", res.Details.EnergyColumn, want.Details.EnergyColumn},
			} {
				w := ""
				if c.want != nil {
					w = *c.want
				}
				if c.got != w {
					t.Errorf("%s %q, want %q", c.what, c.got, w)
				}
			}
			if len(res.Columns) != len(want.Columns) {
				t.Fatalf("%d columns, want %d\ngot  %v\nwant %v", len(res.Columns), len(want.Columns), res.Columns, want.Columns)
			}
			for i, c := range res.Columns {
				if c.Name != want.Columns[i] || c.Type != want.DTypes[i] {
					t.Errorf("column %d: %s %s, want %s %s", i, c.Name, c.Type, want.Columns[i], want.DTypes[i])
				}
			}
			if res.Rows != want.Rows {
				t.Fatalf("rows %d, want %d", res.Rows, want.Rows)
			}
			testenv.CompareMetrics(t, res.Metrics, want.Metrics)
			compareCells(t, e, filepath.Join(expectedDir, name+".csv"), want.DTypes)

			var buf bytes.Buffer
			if err := e.WriteCSV(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			csvWant, _ := os.ReadFile(filepath.Join(expectedDir, name+".csv"))
			if !bytes.Equal(buf.Bytes(), csvWant) {
				t.Errorf("WriteCSV differs from the expected CSV: %s", enginetest.FirstDiff(buf.String(), string(csvWant)))
			}
		})
	}
}

func compareGroups(t *testing.T, got, want []analysis.GroupReport) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d groups, want %d: %+v", len(got), len(want), got)
		return
	}
	for i, g := range got {
		w := want[i]
		if g.Group != w.Group || g.Empty != w.Empty || g.ZeroPower != w.ZeroPower || g.Errors != w.Errors || g.Total != w.Total || len(g.Datasets) != len(w.Datasets) {
			t.Errorf("group %d: %+v, want %+v", i, g, w)
			continue
		}
		for j, d := range g.Datasets {
			wd := w.Datasets[j]
			if d.Path != wd.Path || d.Status != wd.Status || d.Prefix != wd.Prefix || d.Rows != wd.Rows {
				t.Errorf("group %s dataset %d: %+v, want %+v", g.Group, j, d, wd)
			}
		}
	}
}

// readCSV returns the records of a CSV file, header first.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// compareCells compares the engine's table with an expected CSV.
func compareCells(t *testing.T, e *testEngine, csvPath string, dtypes []analysis.DType) {
	t.Helper()
	records := readCSV(t, csvPath)
	body := records[1:]
	n, bad := 0, 0
	err := e.ScanRows(context.Background(), func(row []any) error {
		if n >= len(body) {
			n++
			return nil
		}
		for i, v := range row {
			if msg := cellDiff(v, body[n][i], dtypes[i]); msg != "" {
				bad++
				if bad <= 10 {
					t.Errorf("row %d column %s: %s", n, records[0][i], msg)
				}
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(body) {
		t.Errorf("scanned %d rows, CSV has %d", n, len(body))
	}
	if bad > 10 {
		t.Errorf("%d cells differ", bad)
	}
}

// cellDiff compares one value with its CSV text; "" when equal.
func cellDiff(v any, text string, dtype analysis.DType) string {
	if text == "" || v == nil {
		if text == "" && v == nil {
			return ""
		}
		return "got " + valueString(v) + ", want " + strconv.Quote(text)
	}
	switch dtype {
	case analysis.UInt16, analysis.UInt32, analysis.UInt64:
		want, err := strconv.ParseUint(text, 10, 64)
		var got uint64
		switch x := v.(type) {
		case uint16:
			got = uint64(x)
		case uint32:
			got = uint64(x)
		case uint64:
			got = x
		default:
			return "type " + valueString(v)
		}
		if err != nil || got != want {
			return "got " + valueString(v) + ", want " + text
		}
	case analysis.Int64:
		want, err := strconv.ParseInt(text, 10, 64)
		if got, ok := v.(int64); !ok || err != nil || got != want {
			return "got " + valueString(v) + ", want " + text
		}
	default:
		want, err := strconv.ParseFloat(text, 64)
		var got float64
		switch x := v.(type) {
		case float32:
			if dtype != analysis.Float32 {
				return "type " + valueString(v)
			}
			got = float64(x)
		case float64:
			if dtype != analysis.Float64 {
				return "type " + valueString(v)
			}
			got = x
		default:
			return "type " + valueString(v)
		}
		if err != nil || !testenv.RelClose(got, want, 1e-6) {
			return "got " + valueString(v) + ", want " + text
		}
	}
	return ""
}

func valueString(v any) string {
	if v == nil {
		return "NULL"
	}
	return strings.TrimSpace(string(engine.AppendValue(nil, v))) + " (" + typeName(v) + ")"
}

func typeName(v any) string {
	switch v.(type) {
	case uint16:
		return "uint16"
	case uint32:
		return "uint32"
	case uint64:
		return "uint64"
	case int64:
		return "int64"
	case float32:
		return "float32"
	case float64:
		return "float64"
	}
	return "other"
}

package results

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
)

// streamCols is a table with every series field, and a column that is
// none.
var streamCols = []string{"step", "node", "epoch_s", "power_w", "energy_j", "cpu_util_norm_pct", "gpu_power_w", "rss_mib", "Price_EUR_per_MWh", "other"}

// streamRow is a row of streamCols as FloatRow takes it.
type streamRow struct {
	texts  [2]string
	values []float64 // epoch_s, then the fields, then other
}

// shape makes a series' rows: times and values.
type shape struct {
	node string
	n    int
	kind string // random, ties, flat (one time), bursts
}

// rows makes sorted rows of a series: duplicate times, NaN here and
// there, a field without any value (gpu) and one with few (price).
func (sh shape) rows(r *rand.Rand) []streamRow {
	out := make([]streamRow, sh.n)
	tm, e := 1.7e9+r.Float64(), 0.0
	for i := range out {
		switch sh.kind {
		case "flat":
		case "bursts": // long gaps: many empty buckets, some full ones
			if i%5000 == 0 {
				tm += 1e4 * r.Float64()
			} else if i%3 != 0 {
				tm += 0.001
			}
		default:
			if i%7 != 0 { // every seventh row repeats the time
				tm += 0.5 + r.Float64()
			}
		}
		p := 200 + 100*r.Float64()
		cpu := 100 * r.Float64()
		rss := 1000 + r.NormFloat64()
		if sh.kind == "ties" || sh.kind == "flat" { // equal minima and maxima: the first is kept
			p, cpu, rss = float64(200+r.IntN(5)), float64(r.IntN(3)), float64(r.IntN(2))
		}
		if i%11 == 0 {
			cpu = math.NaN()
		}
		if i%3 == 0 {
			rss = math.NaN()
		}
		price := math.NaN()
		if i%9973 == 5 {
			price = 50 + r.Float64()
		}
		e += p
		out[i] = streamRow{[2]string{"0", sh.node}, []float64{tm, p, e, cpu, math.NaN(), rss, price, 1}}
	}
	return out
}

// announce is the true range of each series in rows.
func announce(rows []streamRow) []analysis.SeriesRange {
	var out []analysis.SeriesRange
	at := map[[2]string]int{}
	for _, row := range rows {
		i, ok := at[row.texts]
		if !ok {
			i = len(out)
			at[row.texts] = i
			out = append(out, analysis.SeriesRange{Step: row.texts[0], Node: row.texts[1], From: row.values[0]})
		}
		out[i].To = row.values[0]
		out[i].Rows++
	}
	return out
}

// record feeds rows to a new recorder, after ranges when not nil, and
// returns its levels.
func record(t *testing.T, rows []streamRow, ranges []analysis.SeriesRange, boxed bool) ([]byte, error) {
	t.Helper()
	rec := NewLevelRecorder(streamCols)
	if ranges != nil {
		rec.Expect(ranges)
	}
	row := make([]any, len(streamCols))
	for _, x := range rows {
		if !boxed {
			rec.FloatRow(x.texts[:], x.values)
			continue
		}
		row[0], row[1] = x.texts[0], x.texts[1]
		for i, v := range x.values {
			row[2+i] = v
			if math.IsNaN(v) {
				row[2+i] = nil
			}
		}
		rec.Row(row)
	}
	return rec.Levels()
}

// readBack is the levels the reader builds from the table (buildLevels)
// when none are stored.
func readBack(t *testing.T, rows []streamRow) []byte {
	t.Helper()
	b, err := buildLevels(context.Background(), tableStore{rows: rows}, File{Table: "t", Columns: streamCols, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tableStore is a Store holding one table's rows: enough for buildLevels.
type tableStore struct {
	Store
	rows []streamRow
}

func (s tableStore) ScanSeries(ctx context.Context, schema, table string, columns, have []string, rng *Range, fn func(step, node string, t float64, vals []float64) error) error {
	at := map[string]int{}
	for i, c := range streamCols[3:] {
		at[c] = 1 + i
	}
	vals := make([]float64, len(columns))
	for _, x := range s.rows {
		if math.IsNaN(x.values[0]) {
			continue // a NULL epoch_s: not a series row
		}
		for i, c := range columns {
			vals[i] = x.values[at[c]]
		}
		if err := fn(x.texts[0], x.texts[1], x.values[0], vals); err != nil {
			return err
		}
	}
	return nil
}

func (s tableStore) BuildLevels(ctx context.Context, runID int64, version int, build func(context.Context, Store) ([]byte, error)) ([]byte, error) {
	return build(ctx, s)
}

// TestStreamedLevels: levels recorded from announced series, as their
// rows pass, are byte for byte those of the recorder keeping the rows and
// of the table read back, whatever the series' sizes (around levelMinRows
// and chunkLen) and shapes.
func TestStreamedLevels(t *testing.T) {
	cases := []struct {
		name   string
		series []shape
	}{
		{"at the threshold", []shape{{"a", levelMinRows - 1, "random"}, {"b", levelMinRows, "random"}, {"c", levelMinRows + 1, "random"}}},
		{"several chunks", []shape{{"a", 2*chunkLen + 7, "random"}, {"b", 3*chunkLen + 123, "ties"}}},
		{"ties", []shape{{"a", levelMinRows + 5000, "ties"}}},
		{"one time", []shape{{"a", levelMinRows + 10, "flat"}, {"b", 300, "flat"}}},
		{"bursts", []shape{{"a", 5 * levelBuckets * 5, "bursts"}}},
		{"small and big", []shape{{"a", 10, "random"}, {"b", levelMinRows + 2, "ties"}, {"c", 1, "random"}, {"d", chunkLen * 2, "bursts"}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			var rows []streamRow
			for _, sh := range c.series {
				rows = append(rows, sh.rows(r)...)
			}
			want, err := record(t, rows, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if back := readBack(t, rows); !bytes.Equal(back, want) {
				t.Fatalf("recorded levels (%d bytes) differ from the table read back (%d bytes)", len(want), len(back))
			}
			for _, boxed := range []bool{false, true} {
				got, err := record(t, rows, announce(rows), boxed)
				if err != nil {
					t.Fatalf("boxed %v: %v", boxed, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("boxed %v: streamed levels (%d bytes) differ from the stored rows' (%d bytes)", boxed, len(got), len(want))
				}
			}
		})
	}
}

// TestStreamedLevelsOnlyAnnounced: big announced series are streamed, the
// others kept.
func TestStreamedLevelsOnlyAnnounced(t *testing.T) {
	rec := NewLevelRecorder(streamCols)
	rec.Expect([]analysis.SeriesRange{
		{Step: "0", Node: "big", From: 1, To: 2, Rows: levelMinRows + 1},
		{Step: "0", Node: "small", From: 1, To: 2, Rows: levelMinRows},
		{Step: "0", Node: "twice", From: 1, To: 2, Rows: levelMinRows + 1},
		{Step: "0", Node: "twice", From: 3, To: 4, Rows: levelMinRows + 1},
	})
	for node, streamed := range map[string]bool{"big": true, "small": false, "twice": false, "other": false} {
		if got := rec.series("0", node).stream != nil; got != streamed {
			t.Errorf("series %s streamed: %v, want %v", node, got, streamed)
		}
	}
}

// TestStreamedLevelsNoFields: a table without node and series fields has
// levels of first and last rows, streamed alike.
func TestStreamedLevelsNoFields(t *testing.T) {
	cols := []string{"step", "epoch_s", "other"}
	levels := func(ranges []analysis.SeriesRange) ([]byte, error) {
		rec := NewLevelRecorder(cols)
		rec.Expect(ranges)
		for i := range levelMinRows + 5 {
			rec.FloatRow([]string{"1"}, []float64{float64(i / 3), 0})
		}
		return rec.Levels()
	}
	want, err := levels(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := levels([]analysis.SeriesRange{{Step: "1", From: 0, To: (levelMinRows + 4) / 3, Rows: levelMinRows + 5}})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("streamed levels (%d bytes, %v) differ from the stored rows' (%d bytes)", len(got), err, len(want))
	}
}

// TestStreamedLevelsBrokenAnnouncement: rows that are not what was
// announced give no levels (an error: nothing is stored, and the reader
// builds them from the table), except where the difference does not
// matter to the levels; then they are right.
func TestStreamedLevelsBrokenAnnouncement(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a := shape{"a", levelMinRows + 3000, "random"}.rows(r)
	b := shape{"b", levelMinRows + 10, "ties"}.rows(r)
	rows := append(append([]streamRow{}, a...), b...)
	cases := []struct {
		name   string
		rows   func() []streamRow
		ranges func([]analysis.SeriesRange) []analysis.SeriesRange
		broken string // the error's text; "" for right levels
	}{
		{"first earlier", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { s[0].From--; return s }, "first row at"},
		{"first later", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { s[0].From++; return s }, "first row at"},
		{"last later", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { s[1].To++; return s }, "last row at"},
		{"a row after the last", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { s[0].To -= 10; return s }, "after the announced last"},
		{"fewer rows", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { s[0].Rows++; return s }, "rows, announced"},
		{"more rows", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { s[1].Rows--; return s }, "more than the"},
		{"time backwards", func() []streamRow {
			x := append([]streamRow{}, rows...)
			x[500] = streamRow{x[500].texts, append([]float64{x[499].values[0] - 0.25}, x[500].values[1:]...)}
			return x
		}, nil, "not in time order"},
		{"a row without time", func() []streamRow {
			x := append([]streamRow{}, rows...)
			x[700] = streamRow{x[700].texts, append([]float64{math.NaN()}, x[700].values[1:]...)}
			return x
		}, nil, "rows, announced"},
		{"interleaved", func() []streamRow {
			var x []streamRow
			for i := range max(len(a), len(b)) {
				if i < len(a) {
					x = append(x, a[i])
				}
				if i < len(b) {
					x = append(x, b[i])
				}
			}
			return x
		}, nil, ""},
		{"announced twice", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { return append(s, s[0]) }, ""},
		{"announced, absent", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange {
			return append(s, analysis.SeriesRange{Step: "9", Node: "z", From: 1, To: 2, Rows: levelMinRows * 2})
		}, ""},
		{"not announced", nil, func(s []analysis.SeriesRange) []analysis.SeriesRange { return s[1:] }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := rows
			if c.rows != nil {
				x = c.rows()
			}
			ranges := announce(rows) // the announcement of the intended rows
			if c.ranges != nil {
				ranges = c.ranges(ranges)
			}
			got, err := record(t, x, ranges, false)
			if c.broken != "" {
				if err == nil || !strings.Contains(err.Error(), c.broken) || got != nil {
					t.Fatalf("got %d bytes and error %v, want no levels and an error with %q", len(got), err, c.broken)
				}
				// What the reader builds instead is what a recorder keeping
				// the rows records.
				if want, _ := record(t, x, nil, false); !bytes.Equal(readBack(t, x), want) {
					t.Fatal("levels read back differ from the recorded ones")
				}
				return
			}
			want, werr := record(t, x, nil, false)
			if err != nil || werr != nil || !bytes.Equal(got, want) {
				t.Fatalf("streamed levels (%d bytes, %v) differ from the stored rows' (%d bytes, %v)", len(got), err, len(want), werr)
			}
		})
	}
}

// benchRows is a table of 2,000,000 rows of 5 series fields in 8 series
// (power, energy, cpu, gpu, rss; no price).
var benchRows = sync.OnceValue(func() []streamRow {
	r := rand.New(rand.NewPCG(1, 1))
	const n, nodes = 2_000_000, 8
	out := make([]streamRow, 0, n)
	for k := range nodes {
		for _, x := range (shape{node: string(rune('a' + k)), n: n / nodes, kind: "random"}).rows(r) {
			x.values[4] = x.values[1] / 3 // gpu
			out = append(out, x)
		}
	}
	return out
})

// BenchmarkLevelRecorder records the levels of a big table as COPY does
// (FloatRow), keeping the rows (stored) or from announced series
// (streamed).
func BenchmarkLevelRecorder(b *testing.B) {
	rows := benchRows()
	cols := append(append([]string{}, streamCols[:8]...), "other1", "other2")
	for _, bc := range []struct {
		name     string
		announce bool
	}{{"stored", false}, {"streamed", true}} {
		b.Run(bc.name, func(b *testing.B) {
			ranges := announce(rows)
			b.ReportAllocs()
			for b.Loop() {
				rec := NewLevelRecorder(cols)
				if bc.announce {
					rec.Expect(ranges)
				}
				for _, x := range rows {
					rec.FloatRow(x.texts[:], x.values)
				}
				if _, err := rec.Levels(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

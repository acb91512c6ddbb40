package corrected

import (
	"bytes"
	"context"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/results"
)

// TestCorrectedSeriesRanges: the series the engine announces are those a
// scan then gives (contiguous, sorted by epoch_s, first and last time and
// count exact), and levels recorded from the announcement equal those
// recorded from the kept rows.
func TestCorrectedSeriesRanges(t *testing.T) {
	e := corrTestEngine(t)
	shapes := []struct {
		name   string
		modify func(*gen.Spec)
	}{
		{"merged, jittered, duplicated", func(s *gen.Spec) {
			s.Layout, s.Nodes, s.Steps = gen.Merged, 2, 1
			s.Rows, s.Interval, s.Jitter, s.Dups, s.Fractional = 70_000, 0.5, 0.4, 0.02, true
		}},
		{"no energy", func(s *gen.Spec) { s.Series = []string{gen.SeriesTask, gen.SeriesNetwork} }},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			s := corrSpec()
			s.Series = gen.ParseSeries("all")
			sh.modify(&s)
			paths, _ := corrWrite(t, s)
			res, _ := corrAnalyse(t, e, paths[0], Options{})
			ranges := e.SeriesRanges()
			if len(ranges) == 0 {
				t.Fatal("no series announced")
			}
			if big := ranges[0].Rows > 1<<16; big != (s.Rows > 1<<16) {
				// Above results' levelMinRows, the series is leveled as it passes.
				t.Fatalf("first series: %d rows", ranges[0].Rows)
			}
			names := make([]string, len(res.Columns))
			for i, c := range res.Columns {
				names[i] = c.Name
			}
			plain, announced := results.NewLevelRecorder(names), results.NewLevelRecorder(names)
			announced.Expect(ranges)
			var got []analysis.SeriesRange
			ok, err := e.ScanFloatRows(context.Background(), func(texts []string, v []float64) error {
				plain.FloatRow(texts, v)
				announced.FloatRow(texts, v)
				tm := v[1] // epoch_s, after elapsed_s
				if n := len(got); n == 0 || got[n-1].Step != texts[0] || got[n-1].Node != texts[1] {
					got = append(got, analysis.SeriesRange{Step: texts[0], Node: texts[1], From: tm, To: tm})
				} else if tm < got[n-1].To {
					t.Fatalf("series %s/%s: epoch_s %v after %v", texts[0], texts[1], tm, got[n-1].To)
				}
				got[len(got)-1].To = tm
				got[len(got)-1].Rows++
				return nil
			})
			if !ok || err != nil {
				t.Fatalf("scan: %v, %v", ok, err)
			}
			if len(got) != len(ranges) {
				t.Fatalf("%d series scanned (each once if contiguous), %d announced", len(got), len(ranges))
			}
			for i := range got {
				if got[i] != ranges[i] {
					t.Errorf("series %d scanned %+v, announced %+v", i, got[i], ranges[i])
				}
			}
			want, err := plain.Levels()
			if err != nil {
				t.Fatal(err)
			}
			if lv, err := announced.Levels(); err != nil || !bytes.Equal(lv, want) {
				t.Fatalf("levels from the announcement (%d bytes, %v) differ from the kept rows' (%d bytes)", len(lv), err, len(want))
			}
		})
	}
}

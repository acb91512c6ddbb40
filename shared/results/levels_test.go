package results

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
)

// TestLevelRecorder: levels recorded from rows as written equal those of
// the series read back (finish), survive a decode and re-encode, and a
// series above a level's rows keeps only its level.
func TestLevelRecorder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cols := []string{"step", "node", "epoch_s", "power_w", "energy_j", "cpu_util_norm_pct", "other"}
	rec := NewLevelRecorder(cols)
	frec := NewLevelRecorder(cols) // the same rows, unboxed (FloatRow)
	want := map[[2]string]*series{}
	var order []*series
	for _, s := range []struct {
		node     string
		n        int
		unsorted bool
	}{{"n1", levelMinRows + 5000, false}, {"n2", 300, false}, {"n3", 3*chunkLen + 123, false}, {"n4", levelMinRows + 10, true}} {
		se := &series{key: [2]string{"0", s.node}, Cols: map[string][]float64{"power": nil, "energy": nil, "cpu": nil}, count: -1}
		want[se.key], order = se, append(order, se)
		tm, e := 1e9, 0.0
		for i := range s.n {
			if i%7 != 0 { // duplicate times now and then
				tm += 0.5 + r.Float64()
			}
			if s.unsorted && i%1000 == 999 {
				tm -= 3
			}
			p := 200 + r.Float64()*100
			if s.node == "n3" {
				p = float64(200 + r.IntN(20)) // ties: the first of equal minima is kept
			}
			var cpu any = r.Float64() * 100
			if i%11 == 0 {
				cpu = nil
			}
			e += p
			rec.Row([]any{"0", s.node, tm, p, e, cpu, "x"})
			frec.FloatRow([]string{"0", s.node}, []float64{tm, p, e, analysis.Number(cpu), 1})
			se.T = append(se.T, tm)
			se.Cols["power"] = append(se.Cols["power"], p)
			se.Cols["energy"] = append(se.Cols["energy"], e)
			se.Cols["cpu"] = append(se.Cols["cpu"], analysis.Number(cpu))
		}
	}
	rec.Row([]any{"0", "n1", nil, 1.0, 1.0, 1.0, "x"}) // no time: not a series row
	frec.FloatRow([]string{"0", "n1"}, []float64{math.NaN(), 1, 1, 1, 1})
	frec.FloatRow([]string{"0"}, []float64{1, 1, 1, 1, 1, 1}) // not the recorder's layout
	got, err := rec.Levels()
	if err != nil {
		t.Fatal(err)
	}
	if fgot, err := frec.Levels(); err != nil || !bytes.Equal(fgot, got) {
		t.Fatalf("levels recorded from unboxed rows (%d bytes, %v) differ from the boxed rows' (%d bytes)", len(fgot), err, len(got))
	}
	for _, se := range order {
		se.finish(true)
		if se.LT != nil {
			se.T, se.Cols = nil, nil
		}
	}
	if exp := encodeLevels(order); !bytes.Equal(got, exp) {
		t.Fatalf("recorded levels (%d bytes) differ from the read series' (%d bytes)", len(got), len(exp))
	}
	ses, err := decodeLevels(got, File{Key: "k"})
	if err != nil || len(ses) != 4 {
		t.Fatalf("decode: %v, %d series", err, len(ses))
	}
	if ses[0].N != levelMinRows+5000 || ses[0].T != nil || len(ses[0].LT) == 0 || len(ses[0].LIdx) != len(ses[0].LT) {
		t.Fatalf("big series: N %d, T %d, level %d", ses[0].N, len(ses[0].T), len(ses[0].LT))
	}
	if ses[1].N != 300 || len(ses[1].T) != 300 || ses[1].LT != nil {
		t.Fatalf("small series: N %d, T %d, level %d", ses[1].N, len(ses[1].T), len(ses[1].LT))
	}
	if !bytes.Equal(encodeLevels(ses), got) {
		t.Fatal("re-encoded levels differ")
	}
	if _, err := decodeLevels(got[:len(got)-3], File{}); err == nil {
		t.Fatal("truncated levels decoded")
	}
	if NewLevelRecorder([]string{"node", "epoch_s", "power_w"}) != nil {
		t.Fatal("a table without step has levels")
	}
	if ses[0].LCols["cpu"] == nil || ses[0].LCols["power"] == nil || !math.IsNaN(ses[1].Cols["cpu"][0]) {
		t.Fatal("fields missing, or a NULL read as a value")
	}
}

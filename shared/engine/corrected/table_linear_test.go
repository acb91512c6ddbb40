package corrected

import (
	"testing"

	"github.com/benchwrap/backend/shared/hdf5/gen"
)

// TestCorrectedLinearWork is issue 13's acceptance 1: on the shapes that
// made the old SQL interpolation quadratic (jittered and duplicated
// times, every series, three tasks per node), the aux pass touches at
// most a small constant times the input samples, and that constant does
// not grow when the file is four times longer. It counts work, not time.
func TestCorrectedLinearWork(t *testing.T) {
	e := corrTestEngine(t)
	shapes := []struct {
		name   string
		modify func(*gen.Spec)
	}{
		{"jitter", func(s *gen.Spec) { s.Jitter = 1.5 }},
		{"dups", func(s *gen.Spec) { s.Dups = 0.1 }},
		{"merged-4-nodes", func(s *gen.Spec) { s.Layout, s.Nodes, s.Jitter = gen.Merged, 4, 1.5 }},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			var perInput []float64
			for _, n := range []int{2000, 8000} {
				s := gen.Default()
				s.Energy, s.Interval, s.TaskInterval, s.TasksPerNode = gen.EnergyXCC, 3, 15, 3
				s.Series = gen.ParseSeries("all")
				s.Rows = n
				sh.modify(&s)
				paths, files := corrWrite(t, s)
				input := int64(0) // samples of every dataset of the file
				for _, f := range files {
					for _, ds := range f.Root.Datasets() {
						if len(ds.Columns) > 0 {
							input += int64(ds.Columns[0].Len())
						}
					}
				}
				res, _ := corrAnalyse(t, e, paths[0], Options{})
				w := e.lastWork
				if w.Rows != res.Rows {
					t.Fatalf("n=%d: pass saw %d rows, table has %d", n, w.Rows, res.Rows)
				}
				total := w.Rows + w.Samples + w.Evals
				// Each row is looked at once per aux series of its node
				// (3 tasks, filesystem, network): about 6 per energy row.
				if total > 8*input {
					t.Errorf("n=%d: %d steps of work for %d input samples (%+v)", n, total, input, w)
				}
				perInput = append(perInput, float64(total)/float64(input))
				t.Logf("n=%d input=%d work=%+v per input sample %.2f", n, input, w, perInput[len(perInput)-1])
			}
			if perInput[1] > 1.1*perInput[0] {
				t.Errorf("work per input sample grows with the file: %.2f then %.2f", perInput[0], perInput[1])
			}
		})
	}
}

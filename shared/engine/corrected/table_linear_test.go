package corrected

import (
	"context"
	"math"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/profile"
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
				if err := e.Complete(context.Background()); err != nil { // the scan that counts the NULLs
					t.Fatal(err)
				}
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

// TestCorrectedManyShortTasks: a node with many tasks that each live a
// moment (two samples) costs its rows and samples, not rows × tasks: a
// row looks only at the tasks whose range may contain it. Each row's CPU
// utilisation is still the mean over the tasks running then.
func TestCorrectedManyShortTasks(t *testing.T) {
	e := corrTestEngine(t)
	for _, tasks := range []int{500, 2000} {
		rows := 4 * tasks
		el := make([]uint64, rows)
		power := make([]uint64, rows)
		for i := range el {
			el[i], power[i] = uint64(i), 200
		}
		energy := append(corrTimesCols(el...), corrU("NodePower", power...))
		var tc [][]profile.Column
		for k := 0; k < tasks; k++ {
			// Task k runs from 4k to 4k+2, at 10 % then 30 %.
			a := uint64(4 * k)
			tc = append(tc, append(corrTimesCols(a, a+2), corrF("CPUUtilization", 10, 30), corrU("RSS", 1024, 1024)))
		}
		p := corrWriteRoot(t, "4243_0_short.h5", corrNodeGroup("node01", 1, energy, nil, tc...))
		res, _ := corrAnalyse(t, e, p, Options{})
		if err := e.Complete(context.Background()); err != nil {
			t.Fatal(err)
		}
		w := e.lastWork
		if w.Rows != int64(rows) || res.Rows != int64(rows) {
			t.Fatalf("%d tasks: %d rows in the pass, %d in the table", tasks, w.Rows, res.Rows)
		}
		input := int64(rows + 2*tasks)
		if total := w.Rows + w.Samples + w.Evals; total > 4*input {
			t.Errorf("%d tasks: %d steps of work for %d input samples (%+v)", tasks, total, input, w)
		}
		util := corrColumn(corrRows(t, e), "cpu_util_norm_pct")
		for i, v := range util[:8] {
			// 10, 20, 30 % over the task's three rows, then no task.
			want := []float64{10, 20, 30, math.NaN()}[i%4]
			if !(v == want || math.IsNaN(v) && math.IsNaN(want)) {
				t.Errorf("%d tasks: row %d utilisation %v, want %v", tasks, i, v, want)
			}
		}
	}
}

package results

import (
	"math"
	"slices"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
)

func p(v float64) *float64 { return &v }

// nodeFile is a done node-step file with one series.
func nodeFile(key string, e, start, end, peak float64, cost *float64) File {
	fig := analysis.Figures{EnergyToSolutionJ: p(e), TimeToSolutionS: p(end - start), PeakPowerW: p(peak),
		FirstEpochS: p(start), LastEpochS: p(end), CostEUR: cost}
	n := ParseName(key, "")
	return File{Key: key, Name: n, Benchmark: "hpl", Status: analysis.StatusDone, Mode: "corrected", Summary: &analysis.Summary{
		Figures: fig,
		Nodes:   []analysis.NodeSummary{{Step: "wrong-from-name", Node: n.Node, Figures: fig}},
		Steps:   []analysis.StepSummary{{Step: "wrong-from-name", Nodes: 1, Figures: fig}},
	}}
}

func TestAggregate(t *testing.T) {
	files := []File{
		nodeFile("hpl_7_0_n1.h5", 100, 1000, 1010, 12, p(1)),
		nodeFile("hpl_7_0_n2.h5", 200, 1000, 1012, 20, p(2)),
		nodeFile("hpl_7_1_n1.h5", 300, 1020, 1030, 35, p(3)),
		nodeFile("hpl_7_1_n2.h5", 400, 1020, 1040, 45, p(4)),
		nodeFile("hpl_7_batch_n1.h5", 5000, 990, 1050, 60, p(50)), // encloses the numbered steps
		{Key: "hpl_7_2_n3.h5", Name: ParseName("hpl_7_2_n3.h5", ""), Status: analysis.StatusSkipped, Mode: "corrected"},
	}
	j := Aggregate("7", files)
	if j.Status != JobPartial || j.Files != 6 || j.FilesDone != 5 || j.Benchmark != "hpl" || j.Label != "hpl" {
		t.Fatalf("%+v", j)
	}
	if *j.EnergyJ != 1000 || *j.WallTimeS != 40 || *j.StartEpochS != 1000 || *j.EndEpochS != 1040 {
		t.Errorf("totals: energy %v wall %v start %v end %v", *j.EnergyJ, *j.WallTimeS, *j.StartEpochS, *j.EndEpochS)
	}
	if *j.AveragePowerW != 25 || *j.EDP != 40000 || *j.CostEUR != 10 || *j.PeakPowerW != 45 {
		t.Errorf("derived: %v %v %v %v", *j.AveragePowerW, *j.EDP, *j.CostEUR, *j.PeakPowerW)
	}
	var steps []string
	for _, s := range j.StepList {
		steps = append(steps, s.Step)
		if s.InTotal == (s.Step == "batch") {
			t.Errorf("step %s in total: %v", s.Step, s.InTotal)
		}
	}
	if !slices.Equal(steps, []string{"batch", "0", "1"}) || j.StepCount != 3 || j.NodeCount != 2 || len(j.NodeList) != 5 {
		t.Errorf("steps %v (%d), nodes %d/%d", steps, j.StepCount, j.NodeCount, len(j.NodeList))
	}
	if s := j.StepList[1]; *s.EnergyJ != 300 || *s.WallTimeS != 12 || s.Nodes != 2 {
		t.Errorf("step 0: %+v", s)
	}
	if !slices.Equal(j.Quality.Flags, []string{"skipped_files"}) || j.Quality.SkippedFiles != 1 {
		t.Errorf("quality %+v", j.Quality)
	}

	// A missing cost makes the job's cost unknown, not smaller.
	files[0].Summary.Nodes[0].CostEUR, files[0].Summary.Steps[0].CostEUR = nil, nil
	if j := Aggregate("7", files); j.CostEUR != nil {
		t.Errorf("cost with a gap: %v", *j.CostEUR)
	}
	// Only the batch step: it is the total.
	if j := Aggregate("7", files[4:5]); *j.EnergyJ != 5000 || j.Status != JobDone {
		t.Errorf("batch only: %+v", j)
	}
	// Nothing analysed.
	if j := Aggregate("7", files[5:]); j.Status != JobSkipped || j.EnergyJ != nil {
		t.Errorf("skipped only: %+v", j)
	}
}

func TestRegressions(t *testing.T) {
	c := Config{BaselineRuns: 10, MinBaseline: 5, Threshold: 3, MinChange: 0.05}
	noise := []float64{1, 0.99, 1.01, 1.005, 0.995, 1.008, 0.992, 1.003, 0.997, 1.0}
	var jobs []Job
	for i, n := range noise {
		jobs = append(jobs, Job{ID: string(rune('a' + i)), Figures: Figures{EnergyJ: p(1000 * n), WallTimeS: p(60)}})
	}
	jobs = append(jobs, Job{ID: "up", Figures: Figures{EnergyJ: p(1300), WallTimeS: p(60)}},
		Job{ID: "down", Figures: Figures{EnergyJ: p(1000), WallTimeS: p(40)}})
	rs := c.Regressions(jobs)
	for i, r := range rs {
		want := r.Job == "up" || r.Job == "down"
		if r.Flagged != want {
			t.Errorf("run %d %s: flagged %v (energy %+v)", i, r.Job, r.Flagged, r.Energy)
		}
		if i < 5 && r.Baseline != 0 {
			t.Errorf("run %d judged with %d runs", i, r.Baseline)
		}
	}
	if up := rs[10]; math.Abs(*up.Energy.Change-0.3) > 0.01 || up.Time.Flagged || up.Baseline != 10 {
		t.Errorf("up: %+v", up)
	}
	if down := rs[11]; !down.Time.Flagged || down.Energy.Flagged {
		t.Errorf("down: %+v", down)
	}
	// A noiseless baseline flags only changes of at least MinChange.
	flat := []Job{}
	for range 6 {
		flat = append(flat, Job{Figures: Figures{EnergyJ: p(100)}})
	}
	flat = append(flat, Job{Figures: Figures{EnergyJ: p(101)}}, Job{Figures: Figures{EnergyJ: p(110)}})
	rs = c.Regressions(flat)
	if rs[6].Flagged || !rs[7].Flagged {
		t.Errorf("flat: %+v %+v", rs[6].Energy, rs[7].Energy)
	}
}

func TestSummarise(t *testing.T) {
	jobs := []Job{
		{ID: "a", Figures: Figures{EnergyJ: p(10), WallTimeS: p(1), EDP: p(10), StartEpochS: p(0)}},
		{ID: "b", Figures: Figures{EnergyJ: p(30), WallTimeS: p(3), EDP: p(90), StartEpochS: p(86400)}},
		{ID: "c", Figures: Figures{EnergyJ: p(20), WallTimeS: nil, EDP: nil, StartEpochS: p(2 * 86400)}},
	}
	s := Summarise("x", jobs)
	e := s.EnergyJ
	if e.Count != 3 || *e.Mean != 20 || *e.Median != 20 || *e.Min != 10 || *e.Max != 30 || *e.Stdev != 10 || *e.SlopePerDay != 5 {
		t.Errorf("energy stats %+v", e)
	}
	if s.WallTime.Count != 2 || *s.WallTime.Median != 2 || s.Best.ID != "a" || *s.First != 0 || *s.Last != 2*86400 {
		t.Errorf("%+v", s)
	}
}

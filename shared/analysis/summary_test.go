package analysis

import (
	"encoding/json"
	"math"
	"testing"
)

func TestFiguresSetEnergy(t *testing.T) {
	var f Figures
	f.SetEnergy(7200, 60)
	if *f.EnergyToSolutionJ != 7200 || *f.EnergyKWh != 0.002 || *f.TimeToSolutionS != 60 ||
		*f.AveragePowerW != 120 || *f.EnergyDelayProduct != 432000 {
		t.Errorf("figures %+v", f)
	}
	if f.ApplianceName != CompareAppliance(7200).Name {
		t.Errorf("appliance %s", f.ApplianceName)
	}
	var g Figures
	g.SetEnergy(math.Inf(1), 0)
	if g.EnergyToSolutionJ != nil || g.AveragePowerW != nil || g.EnergyDelayProduct != nil || g.ApplianceName != "negligible usage" {
		t.Errorf("infinite energy: %+v", g)
	}
	var h Figures
	h.SetEnergy(100, 0) // one sample: no average
	if h.AveragePowerW != nil || *h.EnergyToSolutionJ != 100 {
		t.Errorf("zero wall time: %+v", h)
	}
}

func TestQualityAddColumn(t *testing.T) {
	var q Quality
	q.AddColumn("Energy.NodePower", QualityCounts{OutOfRange: 2})
	q.AddColumn("Energy.NodePower", QualityCounts{Nulls: 1})
	q.AddColumn("Tasks.RSS", QualityCounts{})
	q.AddColumn("Energy.ElapsedTime", QualityCounts{LongGaps: 3})
	if q.QualityCounts != (QualityCounts{Nulls: 1, OutOfRange: 2, LongGaps: 3}) {
		t.Errorf("totals %+v", q.QualityCounts)
	}
	if len(q.Columns) != 2 || q.Columns["Energy.NodePower"] != (QualityCounts{Nulls: 1, OutOfRange: 2}) {
		t.Errorf("columns %+v", q.Columns)
	}
	if got := q.SortedColumns(); len(got) != 2 || got[0] != "Energy.ElapsedTime" {
		t.Errorf("sorted %v", got)
	}
}

func testSummary() *Summary {
	s := &Summary{TotalBasis: BasisSteps, TotalSteps: []string{"0"}}
	s.SetEnergy(3.6e6, 100)
	s.Quality.AddColumn("Energy.NodePower", QualityCounts{OutOfRange: 1})
	st := StepSummary{Step: "0", Nodes: 1, InTotal: true, Overlaps: []string{"batch"}}
	st.SetEnergy(3.6e6, 100)
	n := NodeSummary{Step: "0", Node: "n1", Method: "trapezoid", PowerField: "NodePower", CPUsPerTask: 2, Quality: QualityCounts{OutOfRange: 1}}
	n.SetEnergy(3.6e6, 100)
	cost := 0.3
	n.CostEUR = &cost
	s.Steps, s.Nodes = []StepSummary{st}, []NodeSummary{n}
	return s
}

func TestSummaryRows(t *testing.T) {
	rows := testSummary().Rows()
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	job, step, node := rows[0], rows[1], rows[2]
	if job.Level != LevelJob || step.Level != LevelStep || node.Level != LevelNode {
		t.Errorf("levels %s %s %s", job.Level, step.Level, node.Level)
	}
	if job.Step != "" || step.Step != "0" || node.Step != "0" || node.Node != "n1" {
		t.Errorf("names %+v %+v", step, node)
	}
	if *job.EnergyKWh != 1 || *node.WallTimeS != 100 || *node.CostEUR != 0.3 || job.OutOfRange != 1 || node.OutOfRange != 1 {
		t.Errorf("values %+v %+v", job, node)
	}
	if _, err := json.Marshal(job.Extra); err != nil {
		t.Error(err)
	}
	if (*Summary)(nil).Rows() != nil {
		t.Error("nil summary has rows")
	}
}

func TestSummaryJSON(t *testing.T) {
	s := testSummary()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// The compat names of the job totals, flattened, and the lists.
	for _, k := range []string{"energy_to_solution_j", "time_to_solution_s", "average_power_w", "peak_power_w", "peak_power_time_s",
		"energy_delay_product", "appliance_name", "nodes", "steps", "cost_eur", "co2_kg", "quality", "total_basis"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s in %s", k, b)
		}
	}
	n := m["nodes"].([]any)[0].(map[string]any)
	if n["node"] != "n1" || n["step"] != "0" || n["energy_to_solution_j"] != 3.6e6 || n["cost_eur"] != 0.3 {
		t.Errorf("node %v", n)
	}
	if m := s.Metrics(); m == nil || *m.EnergyToSolutionJ != 3.6e6 || m.ApplianceName != s.ApplianceName {
		t.Errorf("metrics %+v", m)
	}
	if (&Summary{}).Metrics() != nil {
		t.Error("metrics without energy")
	}
}

package gen

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/profile"
)

func energyOf(t *testing.T, s Spec) *profile.Dataset {
	t.Helper()
	files, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	it, ok := files[0].Root.Items[0].Group.Child("Energy")
	if !ok {
		t.Fatal("no Energy")
	}
	return it.Dataset
}

func names(cols []profile.Column) string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return strings.Join(out, ",")
}

func TestDeterministic(t *testing.T) {
	s := Default()
	s.Series = ParseSeries("all")
	s.Jitter, s.Gaps, s.Dups = 0.5, 0.1, 0.1
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	pa, err := Write(dirA, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dirB, s); err != nil {
		t.Fatal(err)
	}
	s.Seed++
	if _, err := Write(dirC, s); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(pa[0])
	b, _ := os.ReadFile(filepath.Join(dirB, filepath.Base(pa[0])))
	c, _ := os.ReadFile(filepath.Join(dirC, filepath.Base(pa[0])))
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different files")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same file")
	}
}

func TestEnergyKinds(t *testing.T) {
	cases := []struct {
		kind   EnergyKind
		gpus   int
		fields string
	}{
		{EnergyNodePower, 1, "ElapsedTime,EpochTime,NodePower"},
		{EnergyXCC, 1, "ElapsedTime,EpochTime,Energy,CurrPower"},
		{EnergyPower, 1, "ElapsedTime,EpochTime,Power"},
		{EnergyGPU, 3, "ElapsedTime,EpochTime,GPU0Power,GPU1Power,GPU2Power"},
		{EnergyCounter, 1, "ElapsedTime,EpochTime,Energy"},
	}
	for _, c := range cases {
		s := Default()
		s.Energy, s.GPUs = c.kind, c.gpus
		e := energyOf(t, s)
		if got := names(e.Columns); got != c.fields {
			t.Errorf("%s: %s", c.kind, got)
		}
		if e.Columns[0].Len() != s.Rows {
			t.Errorf("%s: %d rows", c.kind, e.Columns[0].Len())
		}
	}
}

func TestPowerShapesAndCounter(t *testing.T) {
	s := Default()
	s.Rows = 100
	s.PowerBase, s.PowerPeak = 100, 300
	s.Power = Constant
	if p := energyOf(t, s).Column("NodePower").U; p[0] != 100 || p[99] != 100 {
		t.Errorf("constant %v", p)
	}
	s.Power = Ramp
	if p := energyOf(t, s).Column("NodePower").U; p[0] != 100 || p[99] != 300 || p[50] <= p[10] {
		t.Errorf("ramp %d %d %d", p[0], p[50], p[99])
	}
	s.Power = Step
	if p := energyOf(t, s).Column("NodePower").U; p[49] != 100 || p[50] != 300 {
		t.Errorf("step %d %d", p[49], p[50])
	}
	s.Power = Random
	for _, v := range energyOf(t, s).Column("NodePower").U {
		if v < 96 || v > 300 || v%4 != 0 {
			t.Fatalf("random ipmi value %d", v)
		}
	}
	s.Power = Constant
	s.Energy, s.EnergyOffset, s.EnergyReset = EnergyCounter, 1_000_000, 60
	c := energyOf(t, s).Column("Energy").U
	if c[0] != 1_000_000 || c[59] != 1_000_000+59*100 || c[60] != 0 || c[99] != 39*100 {
		t.Errorf("counter %d %d %d %d", c[0], c[59], c[60], c[99])
	}
}

func TestTimestamps(t *testing.T) {
	s := Default()
	s.Rows = 2000
	s.Jitter, s.Gaps, s.Dups = 0.9, 0.05, 0.05
	e := energyOf(t, s)
	el, ep := e.Column("ElapsedTime").U, e.Column("EpochTime").U
	dups, skips := 0, 0
	for i := 1; i < len(el); i++ {
		switch d := el[i] - el[i-1]; {
		case el[i] < el[i-1]:
			t.Fatalf("ElapsedTime decreases at %d", i)
		case d == 0:
			dups++
		case d > 1:
			skips++
		}
		if ep[i]-ep[0] != el[i]-el[0] {
			t.Fatalf("EpochTime not aligned at %d", i)
		}
	}
	if dups == 0 || skips == 0 || el[0] != 0 {
		t.Errorf("dups %d skips %d first %d", dups, skips, el[0])
	}
	s.Fractional = true
	f := energyOf(t, s).Column("ElapsedTime")
	if f.Kind != profile.Float || f.F[1] == float64(int(f.F[1])) && f.F[2] == float64(int(f.F[2])) {
		t.Errorf("fractional: %v", f.F[:3])
	}
}

func TestLayoutsAndTasks(t *testing.T) {
	s := Default()
	s.Batch, s.Steps, s.Nodes, s.TasksPerNode = true, 2, 2, 2
	s.Series = ParseSeries("energy,task,network")
	files, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Name)
	}
	if strings.Join(got, " ") != "12345_batch_node01.h5 12345_0_node01.h5 12345_0_node02.h5 12345_1_node01.h5 12345_1_node02.h5" {
		t.Errorf("files %q", got)
	}
	node02 := files[2].Root.Items[0].Group
	if it, ok := node02.Lookup("Tasks/3"); !ok || it.Dataset == nil {
		t.Error("node02 of step 0 lacks global task 3")
	}
	if v, _ := node02.AttrInt("Number of Tasks"); v != 2 {
		t.Errorf("Number of Tasks %d", v)
	}
	if _, ok := node02.Child("Filesystem"); ok {
		t.Error("filesystem not requested")
	}
	tk, _ := node02.Lookup("Tasks/2")
	if n := names(tk.Dataset.Columns); n != "ElapsedTime,EpochTime,CPUFrequency,CPUTime,CPUUtilization,GPUMemMB,GPUUtilization,RSS,VMSize,Pages,ReadMB,WriteMB" {
		t.Errorf("task fields %s", n)
	}
	el := tk.Dataset.Column("ElapsedTime").U
	if n := len(el); el[n-1] != el[n-2] {
		t.Errorf("last task row does not repeat the time: %v", el)
	}
	if g := tk.Dataset.Column("GPUMemMB").U; g[1] != 17592186044415 {
		t.Errorf("GPUMemMB %v", g)
	}
	s.Layout = Merged
	files, err = Generate(s)
	if err != nil || len(files) != 1 || files[0].Name != "job_12345.h5" {
		t.Fatalf("merged: %v %v", err, files)
	}
	batch, _ := files[0].Root.Lookup("Steps/batch/Nodes")
	if len(batch.Group.Items) != 1 {
		t.Errorf("batch on %d nodes", len(batch.Group.Items))
	}
	bt, _ := files[0].Root.Lookup("Steps/batch/Nodes/node01/Tasks")
	if len(bt.Group.Items) != 1 || bt.Group.Items[0].Name() != "0" {
		t.Errorf("batch tasks %v", bt.Group.Items)
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Spec){
		func(s *Spec) { s.Layout = "flat" },
		func(s *Spec) { s.Steps = 0 },
		func(s *Spec) { s.Nodes = 0 },
		func(s *Spec) { s.TasksPerNode = 0 },
		func(s *Spec) { s.Rows = -1 },
		func(s *Spec) { s.Interval = 0 },
		func(s *Spec) { s.Gaps = 1 },
		func(s *Spec) { s.Energy = "rapl" },
		func(s *Spec) { s.Energy, s.GPUs = EnergyGPU, 0 },
		func(s *Spec) { s.Power = "sine" },
		func(s *Spec) { s.Series = []string{"lustre"} },
		func(s *Spec) { s.TaskFields = 11 },
	}
	for i, mod := range bad {
		s := Default()
		mod(&s)
		if _, err := Generate(s); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	s := Default()
	s.Steps, s.Batch = 0, true
	if _, err := Generate(s); err != nil {
		t.Errorf("batch-only job refused: %v", err)
	}
}

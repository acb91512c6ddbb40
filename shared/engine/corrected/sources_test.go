package corrected

import (
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5/gen"
)

// TestCorrectedEnergyByContent: the node's power is found by its fields
// whatever its dataset is called, the largest of several sources is used
// (a site plugin's group beside a small meter named Energy), and every
// source is listed with a warning when they disagree.
func TestCorrectedEnergyByContent(t *testing.T) {
	e := corrTestEngine(t)
	cases := []struct {
		name, group string
		minor       float64
		warnings    []string
	}{
		{"renamed", "SitePower", 0, []string{"power found by its fields in /node01/SitePower"}},
		{"renamed beside a minor Energy", "XCC", 40, []string{"power found by its fields in /node01/XCC", "energy sources disagree"}},
		{"Energy beside a minor source", "", 40, []string{"energy sources disagree"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := corrSpec()
			s.Energy, s.Series, s.Rows, s.Jitter = gen.EnergyXCC, gen.ParseSeries("all"), 400, 0.8
			s.EnergyGroup, s.MinorPower = c.group, c.minor
			paths, files := corrWrite(t, s)
			res, sum := corrAnalyse(t, e, paths[0], Options{})
			node := files[0].Root.Items[0].Group
			name := c.group
			if name == "" {
				name = "Energy"
			}
			it, ok := node.Child(name)
			if !ok || it.Dataset == nil {
				t.Fatalf("generated node has no %s", name)
			}
			want := corrRefOf(it.Dataset, "Energy").counter()
			corrWant(t, "energy", sum.EnergyToSolutionJ, want)
			n := corrNodeOf(t, sum, "0", "node01")
			if len(n.EnergySources) == 0 || !n.EnergySources[0].Used || n.EnergySources[0].Dataset != "/node01/"+name {
				t.Fatalf("sources %+v: want /node01/%s used first", n.EnergySources, name)
			}
			if c.minor != 0 {
				if len(n.EnergySources) != 2 || n.EnergySources[1].Used || n.EnergySources[1].Reason == "" {
					t.Errorf("sources %+v: want the minor one listed as ignored with its reason", n.EnergySources)
				}
				mname := strings.TrimPrefix(n.EnergySources[1].Dataset, "/node01/")
				m, ok := node.Child(mname)
				if !ok || m.Dataset == nil {
					t.Fatalf("no minor source %s", mname)
				}
				corrWant(t, "minor source energy", n.EnergySources[1].EnergyJ, corrRefOf(m.Dataset, "Power").trapezoid())
			}
			all := strings.Join(sum.Warnings, "\n")
			for _, w := range c.warnings {
				if !strings.Contains(all, w) {
					t.Errorf("warnings %q: want %q", sum.Warnings, w)
				}
			}
			// The group report lists the chosen source as used, the other
			// as ignored.
			used := map[string]string{}
			for _, g := range res.Details.Groups {
				for _, d := range g.Datasets {
					used[d.Path] = d.Status
				}
			}
			if used["node01/"+name] != analysis.DatasetUsed {
				t.Errorf("report %v: want node01/%s used", used, name)
			}
		})
	}
}

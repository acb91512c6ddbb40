package analysis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The appliance comparison of every expected file matches.
func TestApplianceMatchesExpected(t *testing.T) {
	files, _ := filepath.Glob("../testdata/expected/*.json")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Metrics *Metrics `json:"metrics"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.Metrics == nil || e.Metrics.EnergyToSolutionJ == nil {
			continue
		}
		n++
		got := CompareAppliance(*e.Metrics.EnergyToSolutionJ)
		want := Appliance{e.Metrics.ApplianceName, e.Metrics.ApplianceAmount, e.Metrics.ApplianceUnit, e.Metrics.ApplianceDescription}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", filepath.Base(f), got, want)
		}
	}
	if n < 10 {
		t.Fatalf("only %d expected files with metrics", n)
	}
}

func TestApplianceEdges(t *testing.T) {
	for _, c := range []struct {
		j    float64
		want string
	}{
		{0, "Energy use too small to compare with everyday appliances."},
		{-5, "Energy use too small to compare with everyday appliances."},
		{36000, "That's about the same energy as using a light bulb for 10.0 minutes."},
		{30, "That's about the same energy as using a light bulb for 0.5 seconds."},
		{75221444, "That's about the same energy as using a hair dryer for 11.61 hours."},
	} {
		if got := CompareAppliance(c.j).Description; got != c.want {
			t.Errorf("%v J: %q, want %q", c.j, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := Label("alice/runs/12345_0_node01.h5"); got != "12345_0_node01" {
		t.Errorf("Label = %q", got)
	}
	if got := JobID("job_123"); got != "job" {
		t.Errorf("JobID = %q", got)
	}
	long := TableName(strings.Repeat("x", 80))
	id := Identifier(long)
	if len(id) > MaxIdentifier || id != Identifier(long) || id == Identifier(long+"y") || !strings.HasPrefix(id, "job_xxx") {
		t.Errorf("Identifier(%d bytes) = %q", len(long), id)
	}
	if got := Identifier("job_short"); got != "job_short" {
		t.Errorf("short name changed: %q", got)
	}
	u := Identifier("job_" + strings.Repeat("é", 40))
	if len(u) > MaxIdentifier || !strings.HasPrefix(u, "job_é") || strings.ContainsRune(u, 0xFFFD) {
		t.Errorf("unicode name %q", u)
	}
}

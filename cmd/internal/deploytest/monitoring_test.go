package deploytest

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/benchwrap/backend/shared/metrics"
)

// TestDashboardQueriesKnownSeries: every benchwrap_* series the Grafana
// dashboard queries is one shared/metrics defines (a renamed metric would
// leave a panel silently empty), and every one of ours is on a panel.
func TestDashboardQueriesKnownSeries(t *testing.T) {
	root, _ := loadStack(t)
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(readFile(t, root, "deploy", "monitoring", "grafana-dashboard.json")), &d); err != nil {
		t.Fatal(err)
	}
	known := metrics.Names()
	used := map[string]bool{}
	series := regexp.MustCompile(`benchwrap_[a-z_]+`)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, s := range series.FindAllString(tg.Expr, -1) {
				base := s
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(s, suffix); ok && slices.Contains(known, b) {
						base = b
					}
				}
				if !slices.Contains(known, base) {
					t.Errorf("panel %q queries %s, which shared/metrics does not define", p.Title, s)
				}
				used[base] = true
			}
		}
	}
	for _, n := range known {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}

// TestPodMonitorsScrapeMetricsPort: the PodMonitors scrape the port and
// path the functions serve /metrics on, for every function.
func TestPodMonitorsScrapeMetricsPort(t *testing.T) {
	root, st := loadStack(t)
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, root, "deploy", "monitoring", "podmonitor.yaml")))
	n := 0
	for {
		var pm struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Selector struct {
					MatchExpressions []struct {
						Values []string `yaml:"values"`
					} `yaml:"matchExpressions"`
				} `yaml:"selector"`
				Endpoints []struct {
					TargetPort int    `yaml:"targetPort"`
					Path       string `yaml:"path"`
				} `yaml:"podMetricsEndpoints"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&pm); err != nil {
			break
		}
		n++
		if pm.Kind != "PodMonitor" || len(pm.Spec.Endpoints) != 1 || len(pm.Spec.Selector.MatchExpressions) != 1 {
			t.Fatalf("unexpected monitor %+v", pm)
		}
		ep := pm.Spec.Endpoints[0]
		if want := strings.TrimPrefix(metrics.DefaultAddr, ":"); ep.Path != metrics.Path || strconv.Itoa(ep.TargetPort) != want {
			t.Errorf("endpoint %+v, want %s on %s", ep, metrics.Path, want)
		}
		got := slices.Sorted(slices.Values(pm.Spec.Selector.MatchExpressions[0].Values))
		if want := slices.Sorted(maps.Keys(st.Functions)); !slices.Equal(got, want) {
			t.Errorf("monitor selects %v, stack.yml has %v", got, want)
		}
	}
	if n != 2 {
		t.Errorf("%d PodMonitors, want 2 (OpenFaaS and Knative)", n)
	}
}

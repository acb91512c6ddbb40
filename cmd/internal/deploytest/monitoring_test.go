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
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, s := range unknownSeries(tg.Expr) {
				t.Errorf("panel %q queries %s, which shared/metrics does not define", p.Title, s)
			}
			for _, s := range seriesName.FindAllString(tg.Expr, -1) {
				used[baseName(known, s)] = true
			}
		}
	}
	for _, n := range known {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}

// TestAlertsQueryKnownSeries: the alert rules use series shared/metrics
// defines.
func TestAlertsQueryKnownSeries(t *testing.T) {
	root, _ := loadStack(t)
	var r struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `yaml:"alert"`
					Expr  string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, root, "deploy", "monitoring", "alerts.yaml")), &r); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range r.Spec.Groups {
		for _, rule := range g.Rules {
			n++
			for _, s := range unknownSeries(rule.Expr) {
				t.Errorf("alert %s queries %s, which shared/metrics does not define", rule.Alert, s)
			}
		}
	}
	if r.Kind != "PrometheusRule" || n == 0 {
		t.Errorf("kind %q with %d rules", r.Kind, n)
	}
}

// seriesName finds our series in a PromQL expression.
var seriesName = regexp.MustCompile(`benchwrap_[a-z_]+`)

// baseName maps a histogram's _bucket/_count/_sum series to its family.
func baseName(known []string, s string) string {
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if b, ok := strings.CutSuffix(s, suffix); ok && slices.Contains(known, b) {
			return b
		}
	}
	return s
}

// unknownSeries lists the series of expr that shared/metrics lacks.
func unknownSeries(expr string) []string {
	known := metrics.Names()
	var out []string
	for _, s := range seriesName.FindAllString(expr, -1) {
		if !slices.Contains(known, baseName(known, s)) {
			out = append(out, s)
		}
	}
	return out
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

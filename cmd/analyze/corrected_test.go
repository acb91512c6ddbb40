package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/testenv"
)

// TestCorrectedByDefault: without --mode, the corrected analysis runs;
// --json shows the summary under the compat names plus nodes, steps, cost,
// carbon and quality; the summaries go into job_summaries with the run.
func TestCorrectedByDefault(t *testing.T) {
	url := testenv.PostgresURL(t)
	var out, errOut bytes.Buffer
	file := filepath.Join(fixtures, "12346_job_merged.h5")
	code := run(context.Background(), []string{"--postgres", url, "--json", "--price", "fixed:0.30", "--carbon", "fixed:400", file}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var line struct {
		Status  string `json:"status"`
		Metrics struct {
			EnergyJ    *float64 `json:"energy_to_solution_j"`
			EnergyKWh  *float64 `json:"energy_kwh"`
			TTS        *float64 `json:"time_to_solution_s"`
			CostEUR    *float64 `json:"cost_eur"`
			CO2Kg      *float64 `json:"co2_kg"`
			TotalBasis string   `json:"total_basis"`
			Nodes      []struct {
				Step, Node string
			} `json:"nodes"`
			Steps   []map[string]any `json:"steps"`
			Quality map[string]any   `json:"quality"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &line); err != nil {
		t.Fatalf("%s: %v", out.String(), err)
	}
	m := line.Metrics
	if line.Status != "done" || m.EnergyJ == nil || m.TTS == nil || m.TotalBasis != "steps" || len(m.Nodes) != 3 || len(m.Steps) != 2 || m.Quality == nil {
		t.Fatalf("corrected line: %s", out.String())
	}
	if m.CostEUR == nil || math.Abs(*m.CostEUR-*m.EnergyKWh*0.30) > 1e-12 || m.CO2Kg == nil || math.Abs(*m.CO2Kg-*m.EnergyKWh*0.4) > 1e-12 {
		t.Errorf("cost %v, carbon %v for %v kWh", m.CostEUR, m.CO2Kg, *m.EnergyKWh)
	}
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var levels string
	var jobEnergy float64
	if err := pool.QueryRow(context.Background(), `SELECT string_agg(s.level, ',' ORDER BY s.id), max(s.energy_j) FILTER (WHERE s.level = 'job')
		FROM job_summaries s JOIN analysis_runs r ON r.id = s.run_id WHERE r.mode = 'corrected'`).Scan(&levels, &jobEnergy); err != nil {
		t.Fatal(err)
	}
	if levels != "job,step,step,node,node,node" || jobEnergy != *m.EnergyJ {
		t.Errorf("job_summaries: %s, job energy %v", levels, jobEnergy)
	}
	// The NULL counts, which the COPY's scan counts, are in the printed
	// summary and in the catalog's (written after the COPY).
	if nulls, ok := m.Quality["table_nulls"].(map[string]any); !ok || len(nulls) == 0 {
		t.Errorf("printed table_nulls: %v", m.Quality["table_nulls"])
	}
	var stored int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM analysis_runs r,
		jsonb_object_keys(r.metrics->'quality'->'table_nulls') WHERE r.mode = 'corrected'`).Scan(&stored); err != nil || stored == 0 {
		t.Errorf("stored table_nulls: %d keys (%v)", stored, err)
	}
}

// TestDryRunCountsNulls: a dry run scans nothing, and its summary still
// has the table's NULL counts.
func TestDryRunCountsNulls(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--dry-run", "--json", filepath.Join(fixtures, "12346_job_merged.h5")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var line struct {
		Metrics struct {
			Quality struct {
				TableNulls map[string]int64 `json:"table_nulls"`
			} `json:"quality"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &line); err != nil {
		t.Fatalf("%s: %v", out.String(), err)
	}
	if len(line.Metrics.Quality.TableNulls) == 0 {
		t.Errorf("dry run: no table_nulls in %s", out.String())
	}
}

// TestCompatPricingColumns: with a price source, compat mode appends the
// original's Price_EUR_per_MWh and Cumulative_cost_EUR columns.
func TestCompatPricingColumns(t *testing.T) {
	csvDir := t.TempDir()
	prices := filepath.Join(t.TempDir(), "prices.csv")
	// 100 EUR/MWh from before the job to after it.
	if err := os.WriteFile(prices, []byte("epoch_seconds,eur_per_mwh\n1751900000,100\n1752100000,100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--mode", "compat", "--dry-run", "--json", "--csv", csvDir, "--price", "file:" + prices,
		filepath.Join(fixtures, "12352_0_multi_root.h5")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), `"Price_EUR_per_MWh","Cumulative_cost_EUR"]`) {
		t.Fatalf("columns: %s", out.String())
	}
	b, err := os.ReadFile(filepath.Join(csvDir, "job_12352_0_multi_root.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := strings.Split(lines[len(lines)-1], ",")
	// Energy_used_J 35572 J at 100 EUR/MWh by the original's formula:
	// 35572 / 3.6e6 * 100.
	if last[len(last)-2] != "100.0" || !strings.HasPrefix(last[len(last)-1], "0.98811") {
		t.Errorf("last row ends %v", last[len(last)-3:])
	}
}

package analysis

import (
	"math"
	"sort"
)

// Text is a text column (DuckDB VARCHAR, PostgreSQL text). The corrected
// table names its step and node with it. Values are Go strings.
//
// DType.DuckDB and DType.Postgres (analysis.go) must map it to "VARCHAR"
// and "text"; until they do, they fall back to their float default.
const Text DType = "Text"

// Figures are the energy figures of a job, a step or one node of a step
// (corrected mode). They keep the compat metric names, so a client reads
// the job totals of either mode the same way. Pointers are nil (JSON null)
// where a figure cannot be computed: no energy data, an empty time range,
// or pricing that is off or failed (the reason is then beside it).
//
// Times called *_time_s are seconds since the job's first sample (the
// corrected table's elapsed_s); *_epoch_s are Unix times of the same
// instants.
type Figures struct {
	EnergyToSolutionJ  *float64 `json:"energy_to_solution_j"`
	EnergyKWh          *float64 `json:"energy_kwh"`
	GPUEnergyJ         *float64 `json:"gpu_energy_j"`
	TimeToSolutionS    *float64 `json:"time_to_solution_s"`
	AveragePowerW      *float64 `json:"average_power_w"`
	PeakPowerW         *float64 `json:"peak_power_w"`
	PeakPowerTimeS     *float64 `json:"peak_power_time_s"`
	PeakPowerEpochS    *float64 `json:"peak_power_epoch_s"`
	EnergyDelayProduct *float64 `json:"energy_delay_product"`
	FirstEpochS        *float64 `json:"first_epoch_s"`
	LastEpochS         *float64 `json:"last_epoch_s"`

	CostEUR     *float64 `json:"cost_eur"`
	CO2Kg       *float64 `json:"co2_kg"`
	CostError   string   `json:"cost_error,omitempty"`
	CarbonError string   `json:"carbon_error,omitempty"`

	ApplianceName        string  `json:"appliance_name"`
	ApplianceAmount      float64 `json:"appliance_amount"`
	ApplianceUnit        string  `json:"appliance_unit"`
	ApplianceDescription string  `json:"appliance_description"`
}

// SetEnergy fills the figures derived from the energy (J, NaN when
// unknown) and the wall time (s): kWh, average power, energy-delay product
// and the appliance comparison. Infinite results are reported as null.
func (f *Figures) SetEnergy(joules, wall float64) {
	f.EnergyToSolutionJ = finite(joules)
	f.EnergyKWh = finite(joules / 3.6e6)
	f.TimeToSolutionS = finite(wall)
	avg, edp := perWallTime(joules, wall)
	f.AveragePowerW, f.EnergyDelayProduct = finite(avg), finite(edp)
	if math.IsInf(joules, 0) {
		joules = math.NaN()
	}
	f.ApplianceName, f.ApplianceAmount, f.ApplianceUnit, f.ApplianceDescription = CompareAppliance(joules).fields()
}

// finite returns a pointer to v, or nil for NaN and the infinities (JSON
// has neither).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Finite is Num that also reports the infinities as null.
func Finite(v float64) *float64 { return finite(v) }

// NodeSummary is one node of one step: one (step, node) series.
type NodeSummary struct {
	Step string `json:"step"`
	Node string `json:"node"`
	Figures
	// Method is how the energy was computed: "trapezoid" (power
	// integrated over time) or "counter" (a cumulative Energy counter:
	// last minus first, resets handled); "" without energy data.
	Method string `json:"method"`
	// PowerField is the field the energy comes from: NodePower,
	// CurrPower, Power, GPU (the sum of GPU<n>Power) or Energy.
	PowerField string `json:"power_field,omitempty"`
	// TrapezoidEnergyJ is the integral of the power field when the energy
	// comes from a counter that has one beside it (xcc), as a cross-check.
	TrapezoidEnergyJ *float64 `json:"trapezoid_energy_j,omitempty"`
	CounterResets    int64    `json:"counter_resets,omitempty"`
	Samples          int64    `json:"samples"` // energy samples after merging duplicate times
	// EnergySources lists the node's datasets that carry power or energy
	// (found by their fields, whatever their name), the one used first.
	EnergySources []EnergySource `json:"energy_sources,omitempty"`
	CPUsPerTask   int64          `json:"cpus_per_task"`
	Tasks         int            `json:"tasks"`
	Quality       QualityCounts  `json:"quality"`
}

// EnergySource is one dataset of a node with a power or energy field.
type EnergySource struct {
	Dataset string   `json:"dataset"` // HDF5 path
	Field   string   `json:"field"`   // as NodeSummary.PowerField
	Method  string   `json:"method"`
	EnergyJ *float64 `json:"energy_j"`
	Used    bool     `json:"used"`
	// Reason says why an unused source was left out.
	Reason string `json:"reason,omitempty"`
}

// StepSummary is one step: its nodes together.
type StepSummary struct {
	Step string `json:"step"`
	Figures
	Nodes int `json:"nodes"`
	// InTotal tells whether the job total includes this step (see
	// Summary.TotalBasis).
	InTotal bool `json:"in_total"`
	// Overlaps lists the other steps that ran on one of this step's nodes
	// at the same time (their energy samples overlap in time).
	Overlaps []string      `json:"overlaps"`
	Quality  QualityCounts `json:"quality"`
}

// Total bases: which series the job total sums.
const (
	BasisSteps  = "steps"  // the numbered steps (not the batch or extern step)
	BasisBatch  = "batch"  // the batch step (no numbered step has energy data)
	BasisSingle = "single" // the file has one series with energy data
	BasisNone   = "none"   // no energy data at all
)

// Summary is the corrected-mode report of one file: the job totals under
// the compat metric names, every step and every (step, node), cost and
// carbon, and the data-quality report. In bin/analyze --json it is the
// "metrics" object of corrected mode.
type Summary struct {
	Figures
	// TotalBasis says which series the job total sums: BasisSteps,
	// BasisBatch, BasisSingle or BasisNone. Steps overlapping in time
	// (the batch step encloses the numbered ones) are never added up.
	TotalBasis   string        `json:"total_basis"`
	TotalSteps   []string      `json:"total_steps"`
	Nodes        []NodeSummary `json:"nodes"`
	Steps        []StepSummary `json:"steps"`
	PriceSource  string        `json:"price_source,omitempty"`
	CarbonSource string        `json:"carbon_source,omitempty"`
	PricingNotes []string      `json:"pricing_notes,omitempty"`
	Quality      Quality       `json:"quality"`
	StartEpochS  *float64      `json:"start_epoch_s"` // the job's first sample (elapsed_s 0)
	Warnings     []string      `json:"warnings,omitempty"`
}

// QualityCounts are the data-quality counters of a column, a node, a step
// or the job.
type QualityCounts struct {
	// Nulls: values that are missing: NaN, or Slurm's "no value"
	// sentinels (NO_VAL64 in GPUUtilization and GPUMemMB).
	Nulls int64 `json:"nulls"`
	// OutOfRange: values outside the field's plausible range. They are
	// kept (and used), only counted; samples whose time is unusable
	// (negative, not finite, a wrapped unsigned value) are dropped and
	// counted here too.
	OutOfRange int64 `json:"out_of_range"`
	// LongGaps: intervals between consecutive samples of a series longer
	// than 3 times its sampling interval (the median interval), counted
	// on the series' time column.
	LongGaps int64 `json:"long_gaps"`
}

// Add adds o to q.
func (q *QualityCounts) Add(o QualityCounts) {
	q.Nulls += o.Nulls
	q.OutOfRange += o.OutOfRange
	q.LongGaps += o.LongGaps
}

// Quality is the job's data-quality report.
type Quality struct {
	QualityCounts // totals over Columns
	// Columns holds the counters per input field, "<series>.<field>"
	// (Energy.NodePower, Tasks.CPUUtilization, Network.ElapsedTime, ...),
	// over every node and step.
	Columns map[string]QualityCounts `json:"columns"`
	// TableNulls counts the NULLs of each column of the corrected table
	// (a task value outside the task's sampled range, a series without
	// GPU fields, ...). The table's first complete scan fills the map (a
	// published run's COPY, before its catalog row is written);
	// engine.Engine.Complete fills it when nothing scanned the table.
	TableNulls map[string]int64 `json:"table_nulls"`
	// DuplicateSamples: samples merged into another one with the same
	// time (their values averaged).
	DuplicateSamples int64 `json:"duplicate_samples"`
	// DroppedSamples: samples without a usable time.
	DroppedSamples int64 `json:"dropped_samples"`
	// CounterResets: decreases of a cumulative Energy counter.
	CounterResets int64 `json:"counter_resets"`
	// MissingCPUsPerTask: nodes with tasks but no usable "CPUs per Task"
	// attribute (1 is assumed).
	MissingCPUsPerTask int64 `json:"missing_cpus_per_task"`
	// ZeroPowerSeries: energy series whose power is zero throughout (a
	// sensor that did not read; kept, it adds no energy).
	ZeroPowerSeries int64 `json:"zero_power_series"`
}

// AddColumn adds counters to column name and to the totals.
func (q *Quality) AddColumn(name string, c QualityCounts) {
	if c == (QualityCounts{}) {
		return
	}
	if q.Columns == nil {
		q.Columns = make(map[string]QualityCounts)
	}
	cur := q.Columns[name]
	cur.Add(c)
	q.Columns[name] = cur
	q.QualityCounts.Add(c)
}

// Merge adds every counter of o to q (per column and the sample counts).
func (q *Quality) Merge(o Quality) {
	for name, c := range o.Columns {
		q.AddColumn(name, c)
	}
	q.DuplicateSamples += o.DuplicateSamples
	q.DroppedSamples += o.DroppedSamples
	q.CounterResets += o.CounterResets
	q.MissingCPUsPerTask += o.MissingCPUsPerTask
	q.ZeroPowerSeries += o.ZeroPowerSeries
}

// Rows are the job_summaries rows of the summary: the job, then each step
// and each node in the summary's order.
func (s *Summary) Rows() []SummaryRow {
	if s == nil {
		return nil
	}
	job := figuresRow(LevelJob, "", "", &s.Figures, s.Quality.QualityCounts)
	job.Extra = map[string]any{
		"total_basis": s.TotalBasis, "total_steps": s.TotalSteps,
		"cost_error": s.CostError, "carbon_error": s.CarbonError,
		"price_source": s.PriceSource, "carbon_source": s.CarbonSource,
		"quality": s.Quality, "start_epoch_s": s.StartEpochS,
	}
	rows := []SummaryRow{job}
	for i := range s.Steps {
		st := &s.Steps[i]
		r := figuresRow(LevelStep, st.Step, "", &st.Figures, st.Quality)
		r.Extra = map[string]any{"nodes": st.Nodes, "in_total": st.InTotal, "overlaps": st.Overlaps,
			"cost_error": st.CostError, "carbon_error": st.CarbonError}
		rows = append(rows, r)
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		r := figuresRow(LevelNode, n.Step, n.Node, &n.Figures, n.Quality)
		r.Extra = map[string]any{"method": n.Method, "power_field": n.PowerField,
			"trapezoid_energy_j": n.TrapezoidEnergyJ, "counter_resets": n.CounterResets,
			"samples": n.Samples, "cpus_per_task": n.CPUsPerTask, "tasks": n.Tasks,
			"cost_error": n.CostError, "carbon_error": n.CarbonError, "energy_sources": n.EnergySources}
		rows = append(rows, r)
	}
	return rows
}

func figuresRow(level, step, node string, f *Figures, q QualityCounts) SummaryRow {
	amount := f.ApplianceAmount
	return SummaryRow{
		Level: level, Step: step, Node: node,
		EnergyJ: f.EnergyToSolutionJ, EnergyKWh: f.EnergyKWh, GPUEnergyJ: f.GPUEnergyJ,
		WallTimeS: f.TimeToSolutionS, AveragePowerW: f.AveragePowerW, PeakPowerW: f.PeakPowerW,
		PeakPowerTimeS: f.PeakPowerTimeS, EnergyDelayProduct: f.EnergyDelayProduct,
		CostEUR: f.CostEUR, CO2Kg: f.CO2Kg,
		ApplianceName: f.ApplianceName, ApplianceAmount: &amount, ApplianceUnit: f.ApplianceUnit,
		Nulls: q.Nulls, OutOfRange: q.OutOfRange, LongGaps: q.LongGaps,
	}
}

// Metrics are the compat-named job totals of the summary (nil without
// energy data), for Result.Metrics.
func (s *Summary) Metrics() *Metrics {
	if s == nil || s.EnergyToSolutionJ == nil {
		return nil
	}
	m := Metrics{
		EnergyToSolutionJ: s.EnergyToSolutionJ, TimeToSolutionS: s.TimeToSolutionS,
		AveragePowerW: s.AveragePowerW, PeakPowerW: s.PeakPowerW, PeakPowerTimeS: s.PeakPowerTimeS,
		EnergyDelayProduct: s.EnergyDelayProduct,
		ApplianceName:      s.ApplianceName, ApplianceAmount: s.ApplianceAmount,
		ApplianceUnit: s.ApplianceUnit, ApplianceDescription: s.ApplianceDescription,
	}
	return &m
}

// SortedColumns lists the quality report's column names in order.
func (q *Quality) SortedColumns() []string {
	out := make([]string, 0, len(q.Columns))
	for k := range q.Columns {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package results

import (
	"encoding/json"

	"sort"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
)

// File is one analysed file of a job: its catalog record (the latest run
// of its object) and what its name says.
type File struct {
	RunID     int64     `json:"run_id"`
	Key       string    `json:"key"`
	Name      Name      `json:"-"`
	Step      string    `json:"step,omitempty"`
	Node      string    `json:"node,omitempty"`
	Label     string    `json:"label,omitempty"`
	Benchmark string    `json:"benchmark,omitempty"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Mode      string    `json:"mode"`
	Rows      int64     `json:"rows"`
	Schema    string    `json:"-"`
	Table     string    `json:"table,omitempty"`
	Columns   []string  `json:"-"`
	Types     []string  `json:"-"` // analysis.DType of each column
	Analysed  time.Time `json:"analysed_at"`
	// Summary is the file's metrics: the corrected-mode summary, or the
	// compat metrics read into the same figure names.
	Summary *analysis.Summary `json:"-"`
}

// DecodeSummary reads a catalog metrics document.
func DecodeSummary(metrics []byte) *analysis.Summary {
	if len(metrics) == 0 {
		return nil
	}
	var s analysis.Summary
	if json.Unmarshal(metrics, &s) != nil {
		return nil
	}
	return &s
}

// Figures are the energy figures of a job, a step or a node. Pointers are
// null where a figure is unknown.
type Figures struct {
	EnergyJ       *float64 `json:"energy_j"`
	WallTimeS     *float64 `json:"wall_time_s"`
	AveragePowerW *float64 `json:"average_power_w"`
	PeakPowerW    *float64 `json:"peak_power_w"`
	EDP           *float64 `json:"edp"`
	CostEUR       *float64 `json:"cost_eur"`
	CO2Kg         *float64 `json:"co2_kg"`
	StartEpochS   *float64 `json:"start_epoch_s"`
	EndEpochS     *float64 `json:"end_epoch_s"`
}

// Quality is a job's data-quality report: counters summed over its files
// and flags naming what a reader should look at.
type Quality struct {
	Nulls        int64    `json:"nulls"`
	OutOfRange   int64    `json:"out_of_range"`
	LongGaps     int64    `json:"long_gaps"`
	Warnings     int      `json:"warnings"`
	SkippedFiles int      `json:"skipped_files"`
	FailedFiles  int      `json:"failed_files"`
	Flags        []string `json:"flags"`
}

// Step is one step of a job over all its nodes and files.
type Step struct {
	Step    string `json:"step"`
	Nodes   int    `json:"nodes"`
	InTotal bool   `json:"in_total"`
	Figures
}

// Node is one (step, node) series of a job.
type Node struct {
	Step string `json:"step"`
	Node string `json:"node"`
	File string `json:"file"`
	Figures
	Quality analysis.QualityCounts `json:"quality"`
}

// Job is the aggregate of every file of one Slurm job of one user.
type Job struct {
	ID        string `json:"job"`
	Benchmark string `json:"benchmark"`
	Label     string `json:"label"`
	Status    string `json:"status"` // done, partial, skipped, failed
	Mode      string `json:"mode"`
	Files     int    `json:"files"`
	FilesDone int    `json:"files_done"`
	NodeCount int    `json:"nodes"`
	StepCount int    `json:"steps"`
	Figures
	Quality Quality `json:"quality"`

	StepList []Step  `json:"-"`
	NodeList []Node  `json:"-"`
	SortKey  float64 `json:"-"` // the list's sort value, for its cursor
}

// Job statuses.
const (
	JobDone    = "done"
	JobPartial = "partial"
	JobSkipped = "skipped"
	JobFailed  = "failed"
)

// Aggregate sums the files of one job. The job total follows the rule of
// a single file (docs/corrected-mode.md §5): the numbered steps when any
// has energy data, else the batch step, else every step; the batch step
// encloses the numbered ones and is never added to them.
func Aggregate(id string, files []File) Job {
	j := Job{ID: id, Files: len(files), Quality: Quality{Flags: []string{}}}
	counts := map[string]int{}
	steps := map[string]*stepAcc{}
	nodes := map[[2]string]bool{}
	for _, f := range files {
		if j.Label == "" {
			j.Label = f.Name.Label
		}
		if f.Benchmark != "" {
			counts[f.Benchmark]++
			if counts[f.Benchmark] > counts[j.Benchmark] {
				j.Benchmark = f.Benchmark
			}
		}
		if j.Mode == "" || f.Status == analysis.StatusDone {
			j.Mode = f.Mode
		}
		switch f.Status {
		case analysis.StatusDone:
			j.FilesDone++
		case analysis.StatusSkipped:
			j.Quality.SkippedFiles++
		default:
			j.Quality.FailedFiles++
		}
		s := f.Summary
		if f.Status != analysis.StatusDone || s == nil {
			continue
		}
		j.Quality.Nulls += s.Quality.Nulls
		j.Quality.OutOfRange += s.Quality.OutOfRange
		j.Quality.LongGaps += s.Quality.LongGaps
		j.Quality.Warnings += len(s.Warnings)
		stepOf := func(step string) string {
			if f.Name.Form == FormNodeStep {
				return f.Name.Step
			}
			if step == "" {
				return "0"
			}
			return step
		}
		if len(s.Nodes) == 0 {
			// Compat metrics: the file is one series.
			n := Node{Step: stepOf(""), Node: f.Name.Node, File: f.Key, Figures: fromAnalysis(s.Figures)}
			j.NodeList = append(j.NodeList, n)
			acc(steps, n.Step).add(n.Figures, 1, f.Key)
			nodes[[2]string{n.Step, n.Node}] = true
			continue
		}
		for _, n := range s.Nodes {
			node := Node{Step: stepOf(n.Step), Node: n.Node, File: f.Key, Figures: fromAnalysis(n.Figures), Quality: n.Quality}
			j.NodeList = append(j.NodeList, node)
			nodes[[2]string{node.Step, node.Node}] = true
		}
		for _, st := range s.Steps {
			acc(steps, stepOf(st.Step)).add(fromAnalysis(st.Figures), st.Nodes, f.Key)
		}
	}
	switch {
	case j.FilesDone == j.Files && j.Files > 0:
		j.Status = JobDone
	case j.FilesDone > 0:
		j.Status = JobPartial
	case j.Quality.FailedFiles > 0:
		j.Status = JobFailed
	default:
		j.Status = JobSkipped
	}
	j.NodeCount, j.StepCount = len(distinctNodes(nodes)), len(steps)

	names := make([]string, 0, len(steps))
	for name := range steps {
		names = append(names, name)
	}
	sort.Slice(names, func(a, b int) bool { return stepLess(names[a], names[b]) })
	inTotal := totalSteps(names, steps)
	total := stepAcc{sources: map[string]bool{}}
	for _, name := range names {
		a := steps[name]
		st := Step{Step: name, Nodes: a.nodes, InTotal: inTotal[name], Figures: a.figures()}
		j.StepList = append(j.StepList, st)
		if st.InTotal {
			total.add(st.Figures, st.Nodes, name)
		}
	}
	j.Figures = total.figures()
	sort.SliceStable(j.NodeList, func(a, b int) bool {
		x, y := j.NodeList[a], j.NodeList[b]
		if x.Step != y.Step {
			return stepLess(x.Step, y.Step)
		}
		return x.Node < y.Node
	})
	j.Quality.Flags = flags(j)
	return j
}

func distinctNodes(m map[[2]string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k[1]] = true
	}
	return out
}

func flags(j Job) []string {
	f := []string{}
	add := func(cond bool, name string) {
		if cond {
			f = append(f, name)
		}
	}
	add(j.Quality.SkippedFiles > 0, "skipped_files")
	add(j.Quality.FailedFiles > 0, "failed_files")
	add(j.FilesDone > 0 && j.EnergyJ == nil, "no_energy")
	add(j.Quality.Nulls > 0, "nulls")
	add(j.Quality.OutOfRange > 0, "out_of_range")
	add(j.Quality.LongGaps > 0, "long_gaps")
	add(j.Quality.Warnings > 0, "warnings")
	return f
}

// totalSteps picks the steps the job total sums.
func totalSteps(names []string, steps map[string]*stepAcc) map[string]bool {
	in := map[string]bool{}
	for _, n := range names {
		if isDigits(n) && n != "4294967292" && steps[n].energy.ok {
			in[n] = true
		}
	}
	if len(in) == 0 {
		if s, ok := steps["batch"]; ok && s.energy.ok {
			in["batch"] = true
		}
	}
	if len(in) == 0 {
		for _, n := range names {
			in[n] = true
		}
	}
	return in
}

// stepLess orders steps as sh5util does: batch, then numeric, then by name.
func stepLess(a, b string) bool {
	ra, rb := stepRank(a), stepRank(b)
	if ra != rb {
		return ra < rb
	}
	if ra == 1 && len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func stepRank(s string) int {
	switch {
	case s == "batch":
		return 0
	case isDigits(s):
		return 1
	}
	return 2
}

func fromAnalysis(f analysis.Figures) Figures {
	out := Figures{EnergyJ: f.EnergyToSolutionJ, WallTimeS: f.TimeToSolutionS, AveragePowerW: f.AveragePowerW,
		PeakPowerW: f.PeakPowerW, EDP: f.EnergyDelayProduct, CostEUR: f.CostEUR, CO2Kg: f.CO2Kg,
		StartEpochS: f.FirstEpochS, EndEpochS: f.LastEpochS}
	return out
}

// sum is a nullable running sum: ok once a value was added; broken when a
// value the sum needs was missing.
type sum struct {
	v          float64
	ok, broken bool
}

func (s *sum) add(p *float64) {
	if p == nil {
		s.broken = true
		return
	}
	s.v += *p
	s.ok = true
}

func (s sum) ptr() *float64 {
	if !s.ok || s.broken {
		return nil
	}
	return analysis.Finite(s.v)
}

type stepAcc struct {
	energy, cost, co2 sum
	start, end        *float64
	wall, peak        *float64
	nodes             int
	sources           map[string]bool
}

func acc(m map[string]*stepAcc, name string) *stepAcc {
	a, ok := m[name]
	if !ok {
		a = &stepAcc{sources: map[string]bool{}}
		m[name] = a
	}
	return a
}

// add adds the figures of a part (a file's step, or a step of the job).
func (a *stepAcc) add(f Figures, nodes int, source string) {
	a.sources[source] = true
	a.nodes += nodes
	a.energy.add(f.EnergyJ)
	if f.EnergyJ != nil {
		// Cost and carbon are needed wherever there is energy.
		a.cost.add(f.CostEUR)
		a.co2.add(f.CO2Kg)
	}
	a.start = minPtr(a.start, f.StartEpochS)
	a.end = maxPtr(a.end, f.EndEpochS)
	a.wall = maxPtr(a.wall, f.WallTimeS)
	// The peak of parts that ran at the same time is at most their sum;
	// the highest part's peak is reported (exact for one part).
	a.peak = maxPtr(a.peak, f.PeakPowerW)
}

func (a *stepAcc) figures() Figures {
	f := Figures{EnergyJ: a.energy.ptr(), PeakPowerW: a.peak, StartEpochS: a.start, EndEpochS: a.end}
	if a.energy.ok && a.energy.broken {
		// Some parts have no energy data: the known ones still count.
		f.EnergyJ = analysis.Finite(a.energy.v)
	}
	f.WallTimeS = a.wall
	if a.start != nil && a.end != nil {
		w := *a.end - *a.start
		f.WallTimeS = &w
	}
	if f.EnergyJ != nil {
		f.CostEUR, f.CO2Kg = a.cost.ptr(), a.co2.ptr()
		if f.WallTimeS != nil && *f.WallTimeS > 0 {
			f.AveragePowerW = analysis.Finite(*f.EnergyJ / *f.WallTimeS)
			f.EDP = analysis.Finite(*f.EnergyJ * *f.WallTimeS)
		}
	}
	return f
}

func minPtr(a, b *float64) *float64 {
	if b == nil || (a != nil && *a <= *b) {
		return a
	}
	return b
}

func maxPtr(a, b *float64) *float64 {
	if b == nil || (a != nil && *a >= *b) {
		return a
	}
	return b
}

// Value returns a named figure of a job for sorting and statistics.
func (f Figures) Value(name string) *float64 {
	switch name {
	case "energy_j":
		return f.EnergyJ
	case "wall_time_s":
		return f.WallTimeS
	case "average_power_w":
		return f.AveragePowerW
	case "peak_power_w":
		return f.PeakPowerW
	case "edp":
		return f.EDP
	case "cost_eur":
		return f.CostEUR
	case "co2_kg":
		return f.CO2Kg
	case "start":
		return f.StartEpochS
	case "end":
		return f.EndEpochS
	}
	return nil
}

// Package gen generates synthetic Slurm job-profile files (node-step or
// sh5util-merged layout) from a Spec, deterministically for a seed. The
// cmd/h5gen program is a flag front end; tests and benchmarks call
// Generate/Write directly.
package gen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// Layout is the file layout to produce.
type Layout string

const (
	NodeStep Layout = "node-step" // one <jobid>_<step>_<node>.h5 per (step, node)
	Merged   Layout = "merged"    // one job_<jobid>.h5 as written by sh5util
)

// EnergyKind selects the energy plugin whose fields the Energy series has.
type EnergyKind string

const (
	EnergyNodePower EnergyKind = "nodepower" // ipmi: NodePower (W, multiples of 4)
	EnergyXCC       EnergyKind = "xcc"       // xcc: Energy (J, cumulative), CurrPower (W)
	EnergyPower     EnergyKind = "power"     // rapl/pm_counters/ibmaem: Power (W)
	EnergyGPU       EnergyKind = "gpu"       // gpu: GPU0Power..GPU<n-1>Power (W)
	EnergyCounter   EnergyKind = "energy"    // only a cumulative Energy counter (J)
)

// Shape is how the power evolves over a node-step.
type Shape string

const (
	Constant Shape = "constant"
	Ramp     Shape = "ramp"   // linear from PowerBase to PowerPeak
	Step     Shape = "step"   // PowerBase, then PowerPeak from the middle on
	Random   Shape = "random" // uniform in [PowerBase, PowerPeak]
)

// Series names accepted in Spec.Series.
const (
	SeriesEnergy     = "energy"
	SeriesTask       = "task"
	SeriesFilesystem = "filesystem"
	SeriesNetwork    = "network"
)

// Spec describes a job to generate.
type Spec struct {
	Layout       Layout
	JobID        uint64
	Steps        int  // numbered steps 0..Steps-1
	Batch        bool // add the batch step (first node only, one task "0")
	Nodes        int
	NodePrefix   string // node names are <prefix>01, <prefix>02, ...
	TasksPerNode int
	CPUsPerTask  int

	Rows         int     // energy samples per (step, node)
	Interval     float64 // seconds between energy samples
	TaskInterval float64 // seconds between task, filesystem and network samples
	Jitter       float64 // each sample time is late by up to this many seconds
	Gaps         float64 // probability that a sample is missed (a skip in ElapsedTime)
	Dups         float64 // probability that a sample repeats the previous timestamp
	Fractional   bool    // ElapsedTime as float64 with fractional seconds (not Slurm)

	Series       []string // any of energy, task, filesystem, network
	Energy       EnergyKind
	GPUs         int    // GPU count for EnergyGPU
	EnergyOffset uint64 // initial value of a cumulative Energy counter (J)
	EnergyReset  int    // row at which the counter restarts from 0; 0 = never
	Power        Shape
	PowerBase    float64 // W
	PowerPeak    float64 // W
	TaskFields   int     // 12 (Slurm 23.02+, with GPU members) or 10
	// EnergyGroup names the dataset of the node's power ("" is Energy),
	// as a site's own plugin may. MinorPower (W), when not 0, adds a
	// dataset named Energy (or Minor, when EnergyGroup is Energy) with a
	// constant Power field: a second, smaller meter.
	EnergyGroup string
	MinorPower  float64
	// Bomb, when not 0, makes each energy dataset declare about this many
	// bytes of column data (8 per value) in a file of a few KB: its rows
	// beyond Rows are never written (see hdf5.WriteOptions.ExtendRows).
	Bomb uint64
	// Inflate, when not 0, makes the first chunk of each energy dataset a
	// deflate stream of this many bytes: the dataset declares only Rows,
	// its chunk decompresses far beyond its declared size (see
	// hdf5.WriteOptions.InflateBytes).
	Inflate uint64

	Start time.Time // start of the job; node-step start times derive from it
	Seed  uint64
}

// Default is a small single-node, single-step job with every series.
func Default() Spec {
	return Spec{
		Layout: NodeStep, JobID: 12345, Steps: 1, Nodes: 1, NodePrefix: "node",
		TasksPerNode: 1, CPUsPerTask: 1,
		Rows: 300, Interval: 1, TaskInterval: 30,
		Series:    []string{SeriesEnergy, SeriesTask},
		Energy:    EnergyNodePower,
		GPUs:      1,
		Power:     Random,
		PowerBase: 200, PowerPeak: 320,
		TaskFields: 12,
		Start:      time.Date(2025, 7, 8, 12, 43, 31, 0, time.UTC),
		Seed:       1,
	}
}

// Validate reports the first problem with the spec.
func (s *Spec) Validate() error {
	switch {
	case s.Layout != NodeStep && s.Layout != Merged:
		return fmt.Errorf("layout %q: want node-step or merged", s.Layout)
	case s.Steps < 0 || (s.Steps == 0 && !s.Batch):
		return errors.New("need at least one step (steps > 0 or batch)")
	case s.Nodes < 1 || s.Nodes > 9999:
		return errors.New("nodes must be in 1..9999")
	case s.TasksPerNode < 1:
		return errors.New("tasks per node must be >= 1")
	case s.Rows < 0:
		return errors.New("rows must be >= 0")
	case !(s.Interval > 0) || !(s.TaskInterval > 0):
		return errors.New("intervals must be > 0")
	case s.Jitter < 0 || s.Gaps < 0 || s.Gaps >= 1 || s.Dups < 0 || s.Dups >= 1:
		return errors.New("jitter must be >= 0, gaps and dups in [0, 1)")
	case s.TaskFields != 10 && s.TaskFields != 12:
		return errors.New("task fields must be 10 or 12")
	case s.Energy == EnergyGPU && (s.GPUs < 1 || s.GPUs > 64):
		return errors.New("gpus must be in 1..64")
	case s.PowerBase < 0 || s.PowerPeak < 0:
		return errors.New("power must be >= 0")
	}
	switch s.Energy {
	case EnergyNodePower, EnergyXCC, EnergyPower, EnergyGPU, EnergyCounter:
	default:
		return fmt.Errorf("energy %q: want nodepower, xcc, power, gpu or energy", s.Energy)
	}
	switch s.Power {
	case Constant, Ramp, Step, Random:
	default:
		return fmt.Errorf("power shape %q: want constant, ramp, step or random", s.Power)
	}
	for _, x := range s.Series {
		switch x {
		case SeriesEnergy, SeriesTask, SeriesFilesystem, SeriesNetwork:
		default:
			return fmt.Errorf("series %q: want energy, task, filesystem or network", x)
		}
	}
	return nil
}

func (s *Spec) has(series string) bool {
	for _, x := range s.Series {
		if x == series {
			return true
		}
	}
	return false
}

// StepNames lists the steps in sh5util's merge order: batch first, then
// 0..Steps-1.
func (s *Spec) StepNames() []string {
	var out []string
	if s.Batch {
		out = append(out, "batch")
	}
	for i := 0; i < s.Steps; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// NodeName is the name of node i (0-based): <prefix>01, ...
func (s *Spec) NodeName(i int) string {
	return fmt.Sprintf("%s%02d", s.NodePrefix, i+1)
}

// File is one generated file: its base name and tree.
type File struct {
	Name string
	Root *profile.Group
}

// Generate builds the files of the job in memory.
func Generate(s Spec) ([]File, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var files []File
	var steps []hdf5.SlurmStep
	for si, step := range s.StepNames() {
		st := hdf5.SlurmStep{Name: step}
		for n := 0; n < s.Nodes; n++ {
			if step == "batch" && n > 0 {
				break // the batch step runs on the first node only
			}
			node := s.Node(si, step, n)
			if s.Layout == NodeStep {
				files = append(files, File{
					Name: hdf5.NodeStepFileName(s.JobID, step, node.Name),
					Root: hdf5.NodeStepTree(node),
				})
			}
			st.Nodes = append(st.Nodes, node)
		}
		steps = append(steps, st)
	}
	if s.Layout == Merged {
		files = []File{{Name: fmt.Sprintf("job_%d.h5", s.JobID), Root: hdf5.MergedTree(steps)}}
	}
	return files, nil
}

// Write generates the job and writes its files into dir; it returns their paths.
func Write(dir string, s Spec) ([]string, error) {
	files, err := Generate(s)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := hdf5.WriteFile(p, f.Root, s.writeOptions(f)); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// writeOptions are Slurm's (chunks of 10 rows, deflate level 0), or a
// bomb's: large chunks, deflate 9, the energy dataset extended.
func (s *Spec) writeOptions(f File) hdf5.WriteOptions {
	name := s.EnergyGroup
	if name == "" {
		name = "Energy"
	}
	if s.Bomb == 0 {
		if s.Inflate == 0 {
			return hdf5.WriteOptions{}
		}
		// Chunks of 1<<16 rows: the chunk index of 10-row chunks cannot
		// record a stored size above 64 KiB.
		return hdf5.WriteOptions{ChunkRows: 1 << 16, Deflate: 9, InflateName: name, InflateBytes: s.Inflate}
	}
	cols := 3
	for _, ds := range f.Root.Datasets() {
		if ds.Name == name && len(ds.Columns) > 0 {
			cols = len(ds.Columns)
			break
		}
	}
	return hdf5.WriteOptions{ChunkRows: 1 << 16, Deflate: 9, ExtendName: name, ExtendRows: s.Bomb / uint64(8*cols),
		InflateName: name, InflateBytes: s.Inflate}
}

// Node generates the content of one (step, node). stepIdx is the step's
// position in StepNames.
func (s *Spec) Node(stepIdx int, step string, node int) hdf5.SlurmNode {
	stepStart := s.Start.Add(time.Duration(float64(stepIdx)*(float64(s.Rows)*s.Interval+10)) * time.Second)
	start := stepStart.Add(time.Duration(node) * time.Second) // nodes start slightly apart
	var tasks []int
	if step == "batch" {
		tasks = []int{0}
	} else {
		for t := 0; t < s.TasksPerNode; t++ {
			tasks = append(tasks, node*s.TasksPerNode+t)
		}
	}
	n := hdf5.SlurmNode{
		Name:        s.NodeName(node),
		Index:       int32(node),
		NumTasks:    int32(len(tasks)),
		CPUsPerTask: int32(max(s.CPUsPerTask, 1)),
		StartTime:   start,
	}
	rng := func(series int) *rand.Rand {
		return rand.New(rand.NewPCG(s.Seed, uint64(stepIdx)<<40|uint64(node)<<16|uint64(series)))
	}
	epoch := uint64(start.Unix())
	duration := float64(s.Rows) * s.Interval
	if s.has(SeriesEnergy) {
		n.Energy = s.energy(rng(1), epoch)
		n.EnergyName = s.EnergyGroup
		if s.MinorPower != 0 {
			name := "Energy"
			if s.EnergyGroup == "" || s.EnergyGroup == "Energy" {
				name = "Minor"
			}
			n.Others = append(n.Others, hdf5.SlurmSeries{Name: name, Columns: s.minor(rng(4), epoch)})
		}
	}
	if s.has(SeriesFilesystem) {
		n.Filesystem = s.filesystem(rng(2), epoch, duration)
	}
	if s.has(SeriesNetwork) {
		n.Network = s.network(rng(3), epoch, duration)
	}
	if s.has(SeriesTask) {
		for i, id := range tasks {
			n.Tasks = append(n.Tasks, hdf5.SlurmTask{ID: id, Columns: s.task(rng(16+i), epoch, duration)})
		}
	}
	return n
}

func ucol(name string, n int) profile.Column {
	return profile.Column{Name: name, Kind: profile.Uint, Size: 8, U: make([]uint64, 0, n)}
}

func fcol(name string, n int) profile.Column {
	return profile.Column{Name: name, Kind: profile.Float, Size: 8, F: make([]float64, 0, n)}
}

// times returns the sample times (seconds since the step start) of n
// samples taken every interval, with jitter, gaps and duplicates applied.
func (s *Spec) times(r *rand.Rand, n int, interval float64) []float64 {
	out := make([]float64, 0, n)
	tick := 0
	prev := 0.0
	for len(out) < n {
		if len(out) > 0 && s.Dups > 0 && r.Float64() < s.Dups {
			out = append(out, prev)
			continue
		}
		if len(out) > 0 && s.Gaps > 0 && r.Float64() < s.Gaps {
			tick++ // missed sample
		}
		t := float64(tick) * interval
		if len(out) > 0 && s.Jitter > 0 {
			t += r.Float64() * s.Jitter
		}
		if t < prev {
			t = prev
		}
		out = append(out, t)
		prev = t
		tick++
	}
	return out
}

// header builds ElapsedTime and EpochTime for the sample times.
func (s *Spec) header(ts []float64, epoch uint64) (profile.Column, profile.Column) {
	el := ucol("ElapsedTime", len(ts))
	if s.Fractional {
		el = fcol("ElapsedTime", len(ts))
	}
	ep := ucol("EpochTime", len(ts))
	for _, t := range ts {
		if s.Fractional {
			el.F = append(el.F, math.Round(t*1000)/1000)
		} else {
			el.U = append(el.U, uint64(t))
		}
		ep.U = append(ep.U, epoch+uint64(t))
	}
	return el, ep
}

func (s *Spec) power(r *rand.Rand, i, n int) float64 {
	switch s.Power {
	case Ramp:
		if n <= 1 {
			return s.PowerBase
		}
		return s.PowerBase + (s.PowerPeak-s.PowerBase)*float64(i)/float64(n-1)
	case Step:
		if i >= n/2 {
			return s.PowerPeak
		}
		return s.PowerBase
	case Random:
		lo, hi := min(s.PowerBase, s.PowerPeak), max(s.PowerBase, s.PowerPeak)
		return lo + r.Float64()*(hi-lo)
	}
	return s.PowerBase
}

func (s *Spec) energy(r *rand.Rand, epoch uint64) []profile.Column {
	ts := s.times(r, s.Rows, s.Interval)
	el, ep := s.header(ts, epoch)
	cols := []profile.Column{el, ep}
	n := len(ts)
	watts := make([]uint64, n)
	for i := range watts {
		watts[i] = uint64(math.Round(s.power(r, i, n)))
	}
	counter := func() profile.Column {
		c := ucol("Energy", n)
		acc := float64(s.EnergyOffset)
		for i := range ts {
			if i > 0 {
				acc += float64(watts[i]) * (ts[i] - ts[i-1])
			}
			if s.EnergyReset > 0 && i == s.EnergyReset {
				acc = 0
			}
			c.U = append(c.U, uint64(acc))
		}
		return c
	}
	plain := func(name string, scale float64, quantum uint64) profile.Column {
		c := ucol(name, n)
		for _, w := range watts {
			v := uint64(math.Round(float64(w) * scale))
			if quantum > 1 {
				v -= v % quantum
			}
			c.U = append(c.U, v)
		}
		return c
	}
	switch s.Energy {
	case EnergyNodePower:
		cols = append(cols, plain("NodePower", 1, 4)) // IPMI readings come in steps of 4 W
	case EnergyXCC:
		cols = append(cols, counter(), plain("CurrPower", 1, 0))
	case EnergyPower:
		cols = append(cols, plain("Power", 1, 0))
	case EnergyGPU:
		for g := 0; g < s.GPUs; g++ {
			cols = append(cols, plain("GPU"+strconv.Itoa(g)+"Power", 1/float64(s.GPUs)*(1+0.05*float64(g)), 0))
		}
	case EnergyCounter:
		cols = append(cols, counter())
	}
	return cols
}

// minor is a second energy dataset: Power constant at MinorPower.
func (s *Spec) minor(r *rand.Rand, epoch uint64) []profile.Column {
	ts := s.times(r, s.Rows, s.Interval)
	el, ep := s.header(ts, epoch)
	p := ucol("Power", len(ts))
	for range ts {
		p.U = append(p.U, uint64(math.Round(s.MinorPower)))
	}
	return []profile.Column{el, ep, p}
}

// slowTimes are the sample times of the task-like series: every
// TaskInterval over the step, plus a final sample that can repeat the last
// ElapsedTime (as Slurm's last task row does).
func (s *Spec) slowTimes(r *rand.Rand, duration float64) []float64 {
	n := int(duration/s.TaskInterval) + 1
	ts := s.times(r, n, s.TaskInterval)
	return append(ts, ts[len(ts)-1])
}

func (s *Spec) task(r *rand.Rand, epoch uint64, duration float64) []profile.Column {
	ts := s.slowTimes(r, duration)
	el, ep := s.header(ts, epoch)
	n := len(ts)
	freq, cpuTime, util := ucol("CPUFrequency", n), fcol("CPUTime", n), fcol("CPUUtilization", n)
	gpuMem, gpuUtil := ucol("GPUMemMB", n), fcol("GPUUtilization", n)
	rss, vms, pages := ucol("RSS", n), ucol("VMSize", n), ucol("Pages", n)
	readMB, writeMB := fcol("ReadMB", n), fcol("WriteMB", n)
	threads := float64(max(s.CPUsPerTask, 1))
	var pg uint64
	for i := range ts {
		freq.U = append(freq.U, 2300)
		if i == 0 {
			cpuTime.F, util.F = append(cpuTime.F, 0), append(util.F, 0)
			readMB.F, writeMB.F = append(readMB.F, 0), append(writeMB.F, 0)
			gpuMem.U = append(gpuMem.U, 10_000_000+r.Uint64N(1_000_000)) // uninitialised in Slurm
		} else {
			u := (50 + 50*r.Float64()) * threads
			dt := ts[i] - ts[i-1]
			cpuTime.F = append(cpuTime.F, u/100*dt)
			util.F = append(util.F, u)
			readMB.F = append(readMB.F, r.Float64()*10)
			writeMB.F = append(writeMB.F, r.Float64()*5)
			gpuMem.U = append(gpuMem.U, 17592186044415) // NO_VAL64 >> 20
		}
		gpuUtil.F = append(gpuUtil.F, 1.8446744073709552e19) // NO_VAL64 as a double
		rss.U = append(rss.U, 100_000+uint64(i)*1024+r.Uint64N(512))
		vms.U = append(vms.U, 0)
		pg += r.Uint64N(100)
		pages.U = append(pages.U, pg)
	}
	if s.TaskFields == 10 {
		return []profile.Column{el, ep, freq, cpuTime, util, rss, vms, pages, readMB, writeMB}
	}
	return []profile.Column{el, ep, freq, cpuTime, util, gpuMem, gpuUtil, rss, vms, pages, readMB, writeMB}
}

func (s *Spec) filesystem(r *rand.Rand, epoch uint64, duration float64) []profile.Column {
	ts := s.slowTimes(r, duration)
	el, ep := s.header(ts, epoch)
	n := len(ts)
	reads, readMB, writes, writeMB := ucol("Reads", n), fcol("ReadMB", n), ucol("Writes", n), fcol("WriteMB", n)
	var rc, wc uint64
	var rm, wm float64
	for i := range ts {
		if i > 0 { // cumulative since the step started
			rc += r.Uint64N(1000)
			wc += r.Uint64N(500)
			rm += float64(r.Uint64N(1<<30)) / (1 << 20)
			wm += float64(r.Uint64N(1<<29)) / (1 << 20)
		}
		reads.U, readMB.F = append(reads.U, rc), append(readMB.F, rm)
		writes.U, writeMB.F = append(writes.U, wc), append(writeMB.F, wm)
	}
	return []profile.Column{el, ep, reads, readMB, writes, writeMB}
}

func (s *Spec) network(r *rand.Rand, epoch uint64, duration float64) []profile.Column {
	ts := s.slowTimes(r, duration)
	el, ep := s.header(ts, epoch)
	n := len(ts)
	pin, pout, inMB, outMB := ucol("PacketsIn", n), ucol("PacketsOut", n), fcol("InMB", n), fcol("OutMB", n)
	for range ts { // per-interval deltas
		pi, po := r.Uint64N(100_000), r.Uint64N(100_000)
		pin.U, pout.U = append(pin.U, pi), append(pout.U, po)
		inMB.F = append(inMB.F, float64(pi)*4096/(1<<20))
		outMB.F = append(outMB.F, float64(po)*4096/(1<<20))
	}
	return []profile.Column{el, ep, pin, pout, inMB, outMB}
}

// ParseSeries splits a comma-separated list ("energy,task" or "all").
func ParseSeries(v string) []string {
	if v == "all" {
		return []string{SeriesEnergy, SeriesTask, SeriesFilesystem, SeriesNetwork}
	}
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

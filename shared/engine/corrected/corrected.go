// Package corrected is the corrected-mode pipeline (docs/corrected-mode.md):
// the analysis without the original pipeline's defects, run on an
// engine.Engine. This file is the entry point, the discovery of the
// (step, node) series of a file and the loading and cleaning of their
// datasets; energy.go computes the energy figures and the summary,
// sources.go chooses between energy sources, table.go lays out the result
// table and scans it from the series.
package corrected

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/pricing"
	"github.com/benchwrap/backend/shared/profile"
)

// Options are the per-file options of a corrected run.
type Options struct {
	// Name is what the label derives from (the object key for a
	// downloaded object); default the path. For a node-step file the step
	// is read from it (<job>_<step>_<node>.h5).
	Name string
	// Price and Carbon price the energy; nil is off (cost_eur / co2_kg
	// null without a reason).
	Price, Carbon pricing.Source
}

// Pipeline runs the corrected pipeline on an engine.
type Pipeline struct {
	e *engine.Engine

	// What the last run's aux pass touched, for tests (written under the
	// engine's lock).
	lastWork work
}

// New returns the corrected pipeline of an engine.
func New(e *engine.Engine) *Pipeline { return &Pipeline{e: e} }

// Run analyses one HDF5 file in corrected mode. Whole-file failures are
// skips, as in compat mode: the Result's Skip says why and the summary is
// nil. The error is for failures of the engine itself (the Result is nil
// then). On success the corrected table replaces the previous result in
// the engine (its ScanRows/WriteCSV read it), Result.Metrics holds the
// job totals under the compat names and the Summary everything else.
func (p *Pipeline) Run(ctx context.Context, path string, opt Options) (*analysis.Result, *analysis.Summary, error) {
	var sum *analysis.Summary
	res, err := p.e.Run(ctx, analysis.Corrected, path, opt.Name, func(r *engine.Run) (*engine.Table, error) {
		run := &fileRun{Run: r, opt: opt, label: r.Res.Label, p: p}
		err := run.file(path)
		sum = run.sum
		return run.out, err
	})
	if err != nil {
		return nil, nil, err
	}
	if res.Skip != nil {
		return res, nil, nil
	}
	return res, sum, nil
}

// fileRun is the state of one corrected run.
type fileRun struct {
	*engine.Run
	opt   Options
	label string
	p     *Pipeline

	series  []*series
	dropped []*series // node groups without any usable series (their quality counts)
	ahead   *prefetcher
	reports map[string]*analysis.GroupReport
	quality analysis.Quality
	fields  map[string]bool // power fields used, for Details

	// The job's time origin: elapsed_s = (series start - ref) + el - firstRel.
	ref, firstRel float64
	out           *engine.Table
	sum           *analysis.Summary
}

func (run *fileRun) warn(format string, args ...any) {
	run.Res.Details.Warnings = append(run.Res.Details.Warnings, fmt.Sprintf(format, args...))
}

// series is one unit of analysis: one node of one step. Its times
// (el) are seconds since the node-step started, as in the file
// (ElapsedTime), fractions kept.
type series struct {
	step, node string
	group      *profile.Group
	top        string // top-level item of the file it is under
	sid        int    // position in the table's order

	cpus     int64 // "CPUs per Task" (1 when missing)
	start    float64
	hasStart bool // start is known: the Unix time of el = 0

	// Energy samples, duplicate times merged.
	hasEnergy bool
	el        []float64
	pw        []float64 // the power the energy comes from (NaN: no value)
	gpu       []float64 // sum of the GPU<n>Power fields, nil without any
	cum       []float64 // energy since the first sample (NaN: undefined)
	// Power curve for cost and carbon, when it is not (el, pw): the step
	// function of a counter's increments.
	priceT, priceP []float64
	energy         float64 // J; NaN without energy data
	gpuEnergy      float64 // J; NaN without GPU fields
	trapEnergy     float64 // integral of the power field beside a counter; NaN otherwise
	method, field  string
	powerName      string // the power field beside a counter, or the one integrated
	resets         int64

	aux     []*auxSeries
	tasks   int
	sources []analysis.EnergySource

	rows    []float64 // times of its table rows: el, or the union of the aux times
	off     float64   // el + off = seconds since the job's first sample
	quality analysis.Quality
}

// Aux columns: the task aggregates (mean or sum over the node's tasks),
// the filesystem totals and the cumulated network deltas.
const (
	auxCPU = iota
	auxRSS
	auxRead
	auxWrite
	auxFSRead
	auxFSWrite
	auxNetIn
	auxNetOut
	auxCols
)

// auxSeries is one task, filesystem or network series of a node.
type auxSeries struct {
	t []float64 // merged times (el)
	v [auxCols][]float64
}

// Dataset kinds, the prefixes of the quality report's column names.
const (
	kindEnergy     = "Energy"
	kindTasks      = "Tasks"
	kindFilesystem = "Filesystem"
	kindNetwork    = "Network"
)

const statusIgnored = "ignored"

var gpuField = regexp.MustCompile(`^GPU[0-9]+Power$`)

// file runs the pipeline on one file.
func (run *fileRun) file(p string) error {
	r, f, err := run.OpenProfile(p)
	if err != nil {
		return err
	}
	defer r.Close()
	if f.Root.Err != nil {
		run.warn("root group listed incompletely: %v", f.Root.Err)
	}
	run.discover(f.Root)
	run.ahead = prefetch(r, run.loadOrder())
	defer run.ahead.stop() // before r.Close
	for _, s := range run.series {
		if err := run.load(r, s); err != nil {
			return err
		}
	}
	run.finishReports(f.Root)
	var used []*series
	for _, s := range run.series {
		if s.hasEnergy || len(s.aux) > 0 {
			used = append(used, s)
		} else {
			run.dropped = append(run.dropped, s)
			run.warn("%s: no usable series: node left out", s.group.Path())
		}
	}
	run.series = used
	if len(used) == 0 {
		return engine.Skipf(analysis.SkipNoData, "no node has a usable energy, task, filesystem or network series")
	}
	run.order()
	t, err := run.layout()
	if err != nil {
		return err
	}
	// The table's NULL counts come with its first complete scan (the
	// COPY's), into this map, which the summary's quality report shares.
	t.nulls = make(map[string]int64, len(t.out))
	run.quality.TableNulls = t.nulls
	run.summarize()
	run.out = t.table()
	run.Res.Rows, run.Res.Columns = t.rows, t.out
	run.Res.Metrics = run.sum.Metrics()
	// The datasets' columns are garbage now: hand them back to the OS
	// before the writer's buffers grow, so that the peak is not both at
	// once.
	debug.FreeOSMemory()
	return nil
}

// discover finds the (step, node) series: /Steps/<step>/Nodes/<node> of
// a merged file, and every top-level group that looks like a node group
// (it has an Energy, Filesystem or Network dataset or a Tasks group), the
// step then coming from the file name.
func (run *fileRun) discover(root *profile.Group) {
	run.reports = make(map[string]*analysis.GroupReport)
	fileStep := ""
	for _, it := range root.Items {
		rep := &analysis.GroupReport{Group: it.Name(), Datasets: []analysis.DatasetReport{}}
		run.reports[it.Name()] = rep
		g := it.Group
		if g == nil {
			continue
		}
		if g.Err != nil {
			run.warn("group %s listed incompletely: %v", g.Path(), g.Err)
		}
		if isMerged(g) {
			for _, st := range g.Items {
				if st.Group == nil {
					continue
				}
				nodes, ok := st.Group.Child("Nodes")
				if !ok || nodes.Group == nil {
					continue
				}
				for _, n := range nodes.Group.Items {
					if n.Group != nil && isNode(n.Group) {
						run.series = append(run.series, &series{step: st.Group.Name, node: n.Group.Name, group: n.Group, top: it.Name()})
					}
				}
			}
			continue
		}
		if isNode(g) {
			if fileStep == "" {
				fileStep = run.fileStep()
			}
			run.series = append(run.series, &series{step: fileStep, node: g.Name, group: g, top: it.Name()})
		}
	}
}

// fileStep is the step of a node-step file: <job>_<step>_<node>, split at
// the first two "_". A name that does not follow the pattern (or whose
// step is not a number or "batch") is taken as step "0", with a warning.
func (run *fileRun) fileStep() string {
	parts := strings.SplitN(run.label, "_", 3)
	if len(parts) == 3 && parts[2] != "" && (parts[1] == "batch" || allDigits(parts[1])) {
		return parts[1]
	}
	run.warn("file name %q is not <job>_<step>_<node>.h5: step \"0\" assumed", run.label)
	return "0"
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isMerged reports whether g is sh5util's /Steps group: a group named
// Steps with at least one <step>/Nodes/<node group>.
func isMerged(g *profile.Group) bool {
	if g.Name != "Steps" {
		return false
	}
	for _, st := range g.Items {
		if st.Group == nil {
			continue
		}
		if nodes, ok := st.Group.Child("Nodes"); ok && nodes.Group != nil {
			for _, n := range nodes.Group.Items {
				if n.Group != nil && isNode(n.Group) {
					return true
				}
			}
		}
	}
	return false
}

// isNode reports whether g looks like a node-step group: it has a
// dataset that is a series by its name or its fields (datasetKind), directly
// or in a child group such as Tasks.
func isNode(g *profile.Group) bool {
	for _, it := range g.Items {
		switch {
		case it.Dataset != nil && datasetKind(it.Dataset, false) != "":
			return true
		case it.Group != nil && it.Group.Name == kindTasks:
			return true
		case it.Group != nil:
			for _, c := range it.Group.Items {
				if c.Dataset != nil && datasetKind(c.Dataset, false) != "" {
					return true
				}
			}
		}
	}
	return false
}

// datasetKind is the series kind of a dataset of a node group: Slurm's names
// first (Energy, Filesystem, Network, any dataset under Tasks), else its
// fields, whatever its name: ElapsedTime with a power or energy field is
// an energy series, with CPU or memory fields a task, with InMB/OutMB a
// network and with ReadMB/WriteMB a filesystem series. "" for none.
func datasetKind(ds *profile.Dataset, inTasks bool) string {
	switch {
	case inTasks:
		return kindTasks
	case ds.Name == kindEnergy || ds.Name == kindFilesystem || ds.Name == kindNetwork:
		return ds.Name
	}
	has := make(map[string]bool)
	for _, f := range ds.Fields {
		has[f.Name] = true
	}
	if len(ds.Fields) == 0 {
		for i := range ds.Columns { // a tree built in memory
			has[ds.Columns[i].Name] = true
		}
	}
	if !has["ElapsedTime"] {
		return ""
	}
	for name := range has {
		if isPowerField(name) || name == "Energy" {
			return kindEnergy
		}
	}
	switch {
	case has["CPUUtilization"] || has["RSS"] || has["CPUTime"]:
		return kindTasks
	case has["InMB"] || has["OutMB"]:
		return kindNetwork
	case has["ReadMB"] || has["WriteMB"]:
		return kindFilesystem
	}
	return ""
}

// isPowerField reports whether a field is a power (W) field.
func isPowerField(name string) bool {
	return name == "NodePower" || name == "CurrPower" || name == "Power" || gpuField.MatchString(name)
}

// report records what happened to a dataset.
func (run *fileRun) report(top string, ds *profile.Dataset, status, why string, rows int) {
	rep := run.reports[top]
	if rep == nil {
		return
	}
	rep.Total++
	d := analysis.DatasetReport{Path: strings.Join(ds.Parts, "/"), Status: status, Error: why}
	switch {
	case status == analysis.DatasetUsed:
		d.Rows = rows
	case status == analysis.DatasetEmpty:
		rep.Empty++
	case strings.HasPrefix(status, "error"):
		rep.Errors++
	}
	rep.Datasets = append(rep.Datasets, d)
}

// finishReports lists the datasets no series used as ignored, and puts
// the group reports in the Details in the file's order.
func (run *fileRun) finishReports(root *profile.Group) {
	seen := make(map[string]bool)
	for _, rep := range run.reports {
		for _, d := range rep.Datasets {
			seen[d.Path] = true
		}
	}
	var used []string
	for _, it := range root.Items {
		rep := run.reports[it.Name()]
		var all []*profile.Dataset
		switch {
		case it.Dataset != nil:
			all = []*profile.Dataset{it.Dataset}
		case it.Group != nil:
			all = it.Group.Datasets()
		}
		for _, ds := range all {
			if !seen[strings.Join(ds.Parts, "/")] {
				run.report(it.Name(), ds, statusIgnored, "not part of a recognised node series", 0)
			}
		}
		run.Res.Details.Groups = append(run.Res.Details.Groups, *rep)
		for _, d := range rep.Datasets {
			if d.Status == analysis.DatasetUsed {
				used = append(used, it.Name())
				break
			}
		}
	}
	det := &run.Res.Details
	det.Group = strings.Join(used, ",")
	if det.Group != "" {
		det.EpochColumn = "EpochTime"
		var fields []string
		for f := range run.fields {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			if f == "Energy" {
				det.EnergyColumn = "Energy"
			} else {
				det.PowerColumn = strings.TrimPrefix(det.PowerColumn+","+f, ",")
			}
		}
	}
}

// auxKinds are the kinds of a node's datasets used after its energy, in
// the order they are loaded.
var auxKinds = []string{kindTasks, kindFilesystem, kindNetwork}

// datasetsByKind lists a node group's series by kind, in the file's order.
func datasetsByKind(g *profile.Group) map[string][]*profile.Dataset {
	byKind := make(map[string][]*profile.Dataset)
	for _, it := range g.Items {
		switch {
		case it.Dataset != nil:
			if k := datasetKind(it.Dataset, false); k != "" {
				byKind[k] = append(byKind[k], it.Dataset)
			}
		case it.Group != nil:
			for _, c := range it.Group.Items {
				if c.Dataset == nil {
					continue
				}
				if k := datasetKind(c.Dataset, it.Group.Name == kindTasks); k != "" {
					byKind[k] = append(byKind[k], c.Dataset)
				}
			}
		}
	}
	return byKind
}

// loadOrder lists the datasets the loads of the run's series use, in the
// order they use them (see load).
func (run *fileRun) loadOrder() []*profile.Dataset {
	var out []*profile.Dataset
	for _, s := range run.series {
		byKind := datasetsByKind(s.group)
		out = append(out, byKind[kindEnergy]...)
		for _, k := range auxKinds {
			out = append(out, byKind[k]...)
		}
	}
	return out
}

// load reads the datasets of one series, one at a time (the prefetcher
// reading the next one meanwhile).
func (run *fileRun) load(r *hdf5.Reader, s *series) error {
	g := s.group
	s.energy, s.gpuEnergy, s.trapEnergy = math.NaN(), math.NaN(), math.NaN()
	s.cpus = 1
	byKind := datasetsByKind(g)
	if v, ok := g.AttrInt("CPUs per Task"); ok && v > 0 {
		s.cpus = v
	} else if len(byKind[kindTasks]) > 0 {
		s.quality.MissingCPUsPerTask++
		run.warn("%s: no usable \"CPUs per Task\" attribute: 1 assumed", g.Path())
	}
	// Energy first: its first sample fixes the series' start time.
	if err := run.energySources(r, s, byKind[kindEnergy]); err != nil {
		return err
	}
	for _, kind := range auxKinds {
		for _, ds := range byKind[kind] {
			if err := run.Ctx.Err(); err != nil {
				return err
			}
			if err := run.dataset(r, s, kind, ds); err != nil {
				return err
			}
		}
	}
	if s.hasEnergy {
		s.rows = s.el
	} else {
		s.rows = union(s.aux)
	}
	return nil
}

// dataset loads one dataset of a series and uses it.
func (run *fileRun) dataset(r *hdf5.Reader, s *series, kind string, ds *profile.Dataset) error {
	run.ahead.next()
	// A dataset refused by the walk fails its Load too, with that error
	// (ds is only read after its Load: the prefetcher may be loading it).
	if err := r.Load(ds); err != nil {
		if skip := engine.InflateSkip(ds, err); skip != nil {
			return skip
		}
		if de, ok := profile.AsDatasetError(err); ok {
			run.report(s.top, ds, engine.DatasetErrorStatus(de), de.Error(), 0)
			return nil
		}
		return engine.Skipf(analysis.SkipUnexpected, "load %s: %v", ds.Path(), err)
	}
	defer r.Release(ds)
	if ds.Rows == 0 || len(ds.Columns) == 0 {
		run.report(s.top, ds, analysis.DatasetEmpty, "", 0)
		return nil
	}
	for i := range ds.Columns {
		if ds.Columns[i].Len() != ds.Rows {
			return engine.Skipf(analysis.SkipUnexpected, "%s: column %s has %d values for %d rows", ds.Path(), ds.Columns[i].Name, ds.Columns[i].Len(), ds.Rows)
		}
	}
	var why string
	if kind == kindEnergy {
		why = run.energyDataset(s, ds)
	} else {
		why = run.auxDataset(s, kind, ds)
	}
	if why != "" {
		run.report(s.top, ds, statusIgnored, why, 0)
		run.warn("%s: %s", ds.Path(), why)
		return nil
	}
	run.report(s.top, ds, analysis.DatasetUsed, "", ds.Rows)
	return nil
}

// samples is a dataset's time axis after cleaning: the rows with a
// usable time in stable time order, and the groups of rows sharing a time
// (merged into one sample).
type samples struct {
	el     []float64 // one per merged sample
	order  []int32   // usable rows in time order; nil: every row, in file order
	bounds []int32   // merged sample k is order[bounds[k]:bounds[k+1]]; nil: one row each
	start  float64   // Unix time of el = 0, from the first sample with a valid EpochTime
	hasEp  bool
}

// maxEpoch is the latest plausible Unix time (2100-01-01), as in compat.
const maxEpoch = 4_102_444_800

// sampleTimes cleans the time axis of ds: ElapsedTime as float64 (fractions
// kept), or EpochTime when there is no ElapsedTime (start 0). Rows whose
// time is negative, not finite or a wrapped unsigned value (>= 2^63) are
// dropped and counted out of range; the rest are sorted stably and rows
// with equal times form one sample. Long gaps are counted on the result.
func sampleTimes(kind string, ds *profile.Dataset, q *analysis.Quality) (*samples, string) {
	tc := ds.Column("ElapsedTime")
	ep := ds.Column("EpochTime")
	tname := "ElapsedTime"
	if tc == nil {
		if ep == nil {
			return nil, "no ElapsedTime or EpochTime column"
		}
		tc, tname = ep, "EpochTime"
	}
	n := ds.Rows
	raw := make([]float64, n)
	var bad int64
	valid := func(i int) bool {
		switch tc.Kind {
		case profile.Uint:
			return tc.U[i] < 1<<63
		case profile.Int:
			return tc.I[i] >= 0
		}
		v := tc.F[i]
		return v >= 0 && v < 1<<63 // false for NaN
	}
	sorted := true
	for i := 0; i < n; i++ {
		if !valid(i) {
			bad++
			raw[i] = math.NaN()
			continue
		}
		raw[i] = tc.Float(i)
	}
	q.DroppedSamples += bad
	q.AddColumn(kind+"."+tname, analysis.QualityCounts{OutOfRange: bad})
	smp := &samples{}
	prev := math.Inf(-1)
	dups := false
	for i := 0; i < n && sorted; i++ {
		if math.IsNaN(raw[i]) {
			continue
		}
		if raw[i] < prev {
			sorted = false
		}
		dups = dups || raw[i] == prev
		prev = raw[i]
	}
	if bad > 0 || !sorted || dups {
		smp.order = make([]int32, 0, n)
		for i := 0; i < n; i++ {
			if !math.IsNaN(raw[i]) {
				smp.order = append(smp.order, int32(i))
			}
		}
		if !sorted {
			sort.SliceStable(smp.order, func(a, b int) bool { return raw[smp.order[a]] < raw[smp.order[b]] })
		}
	}
	rows := n
	if smp.order != nil {
		rows = len(smp.order)
	}
	row := func(k int) int {
		if smp.order == nil {
			return k
		}
		return int(smp.order[k])
	}
	if rows == 0 {
		return smp, "no sample has a usable time"
	}
	if smp.order != nil {
		smp.bounds = make([]int32, 0, rows+1)
		smp.el = make([]float64, 0, rows)
		for k := 0; k < rows; k++ {
			v := raw[row(k)]
			if k == 0 || v != smp.el[len(smp.el)-1] {
				smp.bounds = append(smp.bounds, int32(k))
				smp.el = append(smp.el, v)
			}
		}
		smp.bounds = append(smp.bounds, int32(rows))
		q.DuplicateSamples += int64(rows - len(smp.el))
	} else {
		smp.el = raw
	}
	// Start: the first sample (in time order) with a valid EpochTime.
	if tname == "EpochTime" {
		smp.start, smp.hasEp = 0, true
	} else if ep != nil {
		for k := 0; k < rows; k++ {
			v := ep.Float(row(k))
			if v >= 0 && v <= maxEpoch {
				smp.start, smp.hasEp = v-raw[row(k)], true
				break
			}
		}
	}
	q.AddColumn(kind+"."+tname, analysis.QualityCounts{LongGaps: longGaps(smp.el)})
	return smp, ""
}

// longGaps counts the intervals longer than 3 times the median
// interval (the sampling interval) between consecutive samples.
func longGaps(el []float64) int64 {
	if len(el) < 3 {
		return 0
	}
	d := make([]float64, len(el)-1)
	for i := 1; i < len(el); i++ {
		d[i-1] = el[i] - el[i-1]
	}
	med := median(d)
	var n int64
	for _, x := range d {
		if x > 3*med {
			n++
		}
	}
	return n
}

// median is the median of d (the mean of the two middle values for an
// even count), in linear time: a radix selection on the values' bits,
// which order as unsigned integers for the non-negative values of sorted
// times. Anything else (never from sampleTimes) is sorted.
func median(d []float64) float64 {
	keys := make([]uint64, len(d))
	for i, x := range d {
		if !(x >= 0) {
			s := append([]float64(nil), d...)
			sort.Float64s(s)
			if len(s)%2 == 0 {
				return (s[len(s)/2-1] + s[len(s)/2]) / 2
			}
			return s[len(s)/2]
		}
		keys[i] = math.Float64bits(x) &^ (1 << 63) // -0 orders as 0
	}
	k := len(keys) / 2
	hi := math.Float64frombits(selectKey(keys, k))
	if len(keys)%2 == 1 {
		return hi
	}
	return (math.Float64frombits(selectKey(keys, k-1)) + hi) / 2
}

// selectKey returns the k-th smallest key (from 0), 16 bits at a time from
// the top: four counting passes at most, over fewer keys each time.
func selectKey(keys []uint64, k int) uint64 {
	cand := keys
	var prefix uint64
	for shift := 48; shift >= 0; shift -= 16 {
		var count [1 << 16]int
		for _, x := range cand {
			count[(x>>shift)&0xffff]++
		}
		digit := 0
		for ; k >= count[digit]; digit++ {
			k -= count[digit]
		}
		prefix |= uint64(digit) << shift
		if count[digit] == len(cand) {
			continue // all share this digit (regular sampling): no copy
		}
		next := make([]uint64, 0, count[digit])
		for _, x := range cand {
			if (x>>shift)&0xffff == uint64(digit) {
				next = append(next, x)
			}
		}
		cand = next
	}
	return prefix
}

// values returns column c per merged sample: the mean of the values of
// its rows that are not NaN (NaN if all are).
func (smp *samples) values(c *profile.Column) []float64 {
	out := make([]float64, len(smp.el))
	if smp.order == nil {
		switch c.Kind {
		case profile.Float:
			copy(out, c.F)
		case profile.Uint:
			for i, v := range c.U {
				out[i] = float64(v)
			}
		default:
			for i, v := range c.I {
				out[i] = float64(v)
			}
		}
		return out
	}
	for k := range out {
		lo, hi := smp.bounds[k], smp.bounds[k+1]
		if hi-lo == 1 {
			out[k] = c.Float(int(smp.order[lo]))
			continue
		}
		sum, cnt := 0.0, 0
		for _, r := range smp.order[lo:hi] {
			if v := c.Float(int(r)); !math.IsNaN(v) {
				sum += v
				cnt++
			}
		}
		out[k] = math.NaN()
		if cnt > 0 {
			out[k] = sum / float64(cnt)
		}
	}
	return out
}

// Slurm's "no value" sentinels in the task series (NO_VAL64 in MB, and as
// a double): counted as nulls.
const (
	noValMB     = 17592186044415
	noValDouble = 1.8446744073709552e19
)

// checkRanges counts the NaNs and out-of-range values of every column of a
// dataset (the time columns are checked by sampleTimes, EpochTime here).
func checkRanges(kind string, ds *profile.Dataset, cpus int64, q *analysis.Quality) {
	for i := range ds.Columns {
		c := &ds.Columns[i]
		if c.Name == "ElapsedTime" || (c.Name == "EpochTime" && ds.Column("ElapsedTime") == nil) {
			continue
		}
		lo, hi := validRange(kind, c.Name, cpus)
		var qc analysis.QualityCounts
		for r := 0; r < ds.Rows; r++ {
			v := c.Float(r)
			switch {
			case math.IsNaN(v):
				qc.Nulls++
			case kind == kindTasks && ((c.Name == "GPUMemMB" && v == noValMB) || (c.Name == "GPUUtilization" && v == noValDouble)):
				qc.Nulls++
			case v < lo || v > hi:
				qc.OutOfRange++
			}
		}
		q.AddColumn(kind+"."+c.Name, qc)
	}
}

// validRange is the plausible range of a field (inclusive). Fields not
// listed only have their NaNs counted.
func validRange(kind, field string, cpus int64) (lo, hi float64) {
	inf := math.Inf(1)
	switch {
	case field == "EpochTime":
		return 0, maxEpoch
	case kind == kindEnergy && (field == "NodePower" || field == "CurrPower" || field == "Power" || gpuField.MatchString(field)):
		return 0, 10_000
	case kind == kindEnergy && field == "Energy":
		return 0, inf
	case kind == kindTasks:
		switch field {
		case "CPUFrequency":
			return 0, 10_000
		case "CPUUtilization":
			// Percent of one CPU: up to 100 per CPU of the task.
			return 0, 100 * float64(cpus)
		case "GPUUtilization":
			return 0, 100
		case "GPUMemMB":
			return 0, 1e6
		case "RSS", "VMSize":
			return 0, 1<<63 - 1
		case "CPUTime", "Pages", "ReadMB", "WriteMB":
			return 0, inf
		}
	case kind == kindFilesystem || kind == kindNetwork:
		return 0, inf
	}
	return math.Inf(-1), inf
}

// energyDataset uses a node's Energy dataset (see energy.go for
// the energy). It returns why the dataset cannot be used, or "".
func (run *fileRun) energyDataset(s *series, ds *profile.Dataset) string {
	var power, counter *profile.Column
	var gpus []*profile.Column
	for _, name := range []string{"NodePower", "CurrPower", "Power"} {
		if c := ds.Column(name); c != nil {
			power = c
			break
		}
	}
	counter = ds.Column("Energy")
	for i := range ds.Columns {
		if gpuField.MatchString(ds.Columns[i].Name) {
			gpus = append(gpus, &ds.Columns[i])
		}
	}
	if power == nil && counter == nil && len(gpus) == 0 {
		return "no energy field (NodePower, CurrPower, Power, GPU<n>Power or Energy)"
	}
	smp, why := sampleTimes(kindEnergy, ds, &s.quality)
	if why != "" {
		return why
	}
	checkRanges(kindEnergy, ds, s.cpus, &s.quality)
	s.el = smp.el
	var pw, ctr []float64
	if power != nil {
		pw = smp.values(power)
	}
	if counter != nil {
		ctr = smp.values(counter)
	}
	var gv [][]float64
	for _, c := range gpus {
		gv = append(gv, smp.values(c))
	}
	s.energize(pw, ctr, gv, power, counter, run.opt.Price != nil || run.opt.Carbon != nil)
	if math.IsNaN(s.energy) {
		// Every value is NaN (counted as nulls): no energy data.
		s.el, s.pw, s.gpu, s.cum, s.priceT, s.priceP = nil, nil, nil, nil, nil, nil
		s.method, s.field, s.resets = "", "", 0
		s.energy, s.gpuEnergy, s.trapEnergy = math.NaN(), math.NaN(), math.NaN()
		return "no energy field has a value (all NaN)"
	}
	s.hasEnergy = true
	if smp.hasEp {
		s.start, s.hasStart = smp.start, true
	}
	s.powerName = ""
	if power != nil {
		s.powerName = power.Name
	}
	if power != nil && allZero(pw) {
		s.quality.ZeroPowerSeries++
		run.warn("%s: %s is zero throughout (kept: it adds no energy)", ds.Path(), power.Name)
	}
	return ""
}

func allZero(v []float64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// auxDataset uses a task, filesystem or network dataset of a node.
func (run *fileRun) auxDataset(s *series, kind string, ds *profile.Dataset) string {
	smp, why := sampleTimes(kind, ds, &s.quality)
	if why != "" {
		return why
	}
	checkRanges(kind, ds, s.cpus, &s.quality)
	if !s.hasStart && smp.hasEp {
		// No Energy dataset gave the start: the first other one does.
		s.start, s.hasStart = smp.start, true
	}
	a := &auxSeries{t: smp.el}
	get := func(name string) []float64 {
		if c := ds.Column(name); c != nil {
			return smp.values(c)
		}
		return nil
	}
	scale := func(v []float64, f float64) []float64 {
		for i := range v {
			v[i] *= f
		}
		return v
	}
	switch kind {
	case kindTasks:
		// CPUUtilization is a percentage of one CPU: divided by the CPUs
		// of the task it is a percentage of the task's CPUs.
		a.v[auxCPU] = scale(get("CPUUtilization"), 1/float64(s.cpus))
		a.v[auxRSS] = scale(get("RSS"), 1.0/1024)
		a.v[auxRead] = get("ReadMB")
		a.v[auxWrite] = get("WriteMB")
		s.tasks++
	case kindFilesystem:
		// Totals since the step started: differenced in the table.
		a.v[auxFSRead] = get("ReadMB")
		a.v[auxFSWrite] = get("WriteMB")
	case kindNetwork:
		// Per-interval amounts: cumulated here, differenced in the table.
		a.v[auxNetIn] = cumulate(get("InMB"))
		a.v[auxNetOut] = cumulate(get("OutMB"))
	}
	known := false
	for _, v := range a.v {
		known = known || v != nil
	}
	if !known {
		return "no known field"
	}
	s.aux = append(s.aux, a)
	return ""
}

// cumulate turns per-interval amounts into running totals (a NaN adds
// nothing; it is counted in the quality report).
func cumulate(v []float64) []float64 {
	acc := 0.0
	for i, x := range v {
		if !math.IsNaN(x) {
			acc += x
		}
		v[i] = acc
	}
	return v
}

// union is the sorted union of the times of a node's aux series: the
// rows of a node without energy data.
func union(aux []*auxSeries) []float64 {
	var all []float64
	for _, a := range aux {
		all = append(all, a.t...)
	}
	sort.Float64s(all)
	out := all[:0]
	for i, v := range all {
		if i == 0 || v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// stepLess orders steps as sh5util merges them (batch, then by
// number), then by name.
func stepLess(a, b string) bool {
	oa, ob := hdf5.MergeOrder(a), hdf5.MergeOrder(b)
	if oa != ob {
		return oa < ob
	}
	return a < b
}

// order sorts the series by step and node, numbers them, and fixes the
// job's time origin: the first row of any series is elapsed 0.
func (run *fileRun) order() {
	sort.SliceStable(run.series, func(a, b int) bool {
		x, y := run.series[a], run.series[b]
		if x.step != y.step {
			return stepLess(x.step, y.step)
		}
		return x.node < y.node
	})
	run.ref = math.Inf(1)
	noStart := 0
	for i, s := range run.series {
		s.sid = i
		if !s.hasStart {
			noStart++
			continue
		}
		run.ref = min(run.ref, s.start)
	}
	if math.IsInf(run.ref, 1) {
		run.ref = 0
	}
	if noStart > 0 {
		run.warn("%d series have no valid EpochTime: their times are taken as starting at the job's start", noStart)
	}
	run.firstRel = math.Inf(1)
	for _, s := range run.series {
		if !s.hasStart {
			s.start = run.ref
		}
		s.off = s.start - run.ref
		if len(s.rows) > 0 {
			run.firstRel = min(run.firstRel, s.off+s.rows[0])
		}
	}
	if math.IsInf(run.firstRel, 1) {
		run.firstRel = 0
	}
}

// rel is the time of el of series s in seconds since the job's first
// sample. The difference of the starts is exact for whole-second starts,
// so a series' own intervals keep their fractions.
func (run *fileRun) rel(s *series, el float64) float64 {
	return (s.off + el) - run.firstRel
}

// startEpoch is the Unix time of the job's first sample.
func (run *fileRun) startEpoch() float64 { return run.ref + run.firstRel }

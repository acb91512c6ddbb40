package corrected

// Energy figures of corrected mode: integration per series, and the
// summaries of the nodes, the steps and the job.
//
// The integrals are computed here in Go rather than in DuckDB: each is one
// sequential pass over a series' samples in time order with a compensated
// (Neumaier) sum, which is exact to a few ulps whatever the length, and
// deterministic. DuckDB's SUM over a window or a group adds in an order of
// its choosing (segment trees, parallel partial sums), so its result can
// change in the last bits from run to run, and the peak of the summed
// power of several nodes needs a merge of their timelines that a join
// would blow up.

import (
	"fmt"
	"math"
	"sort"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/pricing"
	"github.com/benchwrap/backend/shared/profile"
)

const (
	methodTrapezoid = "trapezoid"
	methodCounter   = "counter"
)

// kahanSum is a Neumaier (improved Kahan) sum.
type kahanSum struct{ s, c float64 }

func (k *kahanSum) add(x float64) {
	t := k.s + x
	if math.IsInf(t, 0) || math.IsNaN(t) {
		k.s, k.c = t, 0
		return
	}
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k *kahanSum) value() float64 {
	if math.IsInf(k.s, 0) || math.IsNaN(k.s) {
		return k.s
	}
	return k.s + k.c
}

// trapezoid integrates power p over times el (strictly increasing)
// with the trapezoidal rule; samples whose power is NaN are left out (the
// segment bridges them). It returns the energy (NaN without any sample)
// and the energy since the first sample at each sample (NaN where p is).
func trapezoid(el, p []float64) (float64, []float64) {
	cum := make([]float64, len(el))
	var acc kahanSum
	prev := -1
	for i := range el {
		if math.IsNaN(p[i]) {
			cum[i] = math.NaN()
			continue
		}
		if prev >= 0 {
			acc.add((el[i] - el[prev]) * (p[i] + p[prev]) / 2)
		}
		prev = i
		cum[i] = acc.value()
	}
	if prev < 0 {
		return math.NaN(), cum
	}
	return acc.value(), cum
}

// counterEnergy computes the energy of a cumulative counter c (J) at times
// el: the sum of its increments, where a decrease is a reset (the counter
// restarted from 0, so the increment is the new value). It also returns
// the energy since the first sample at each sample, the mean power over
// the interval ending at each sample (the first sample gets the first
// interval's), the resets, and, with steps set, the counter's power as a
// step function (times and powers, two points per interval) whose
// integral is the energy, for pricing (four times the series' size: only
// built when pricing is on).
func counterEnergy(el, c []float64, steps bool) (e float64, cum, pw []float64, resets int64, pT, pP []float64) {
	cum = make([]float64, len(el))
	pw = make([]float64, len(el))
	var acc kahanSum
	prev, first := -1, -1
	for i := range el {
		pw[i] = math.NaN()
		if math.IsNaN(c[i]) {
			cum[i] = math.NaN()
			continue
		}
		if prev >= 0 {
			inc := c[i] - c[prev]
			if c[i] < c[prev] {
				inc = c[i]
				resets++
			}
			acc.add(inc)
			pw[i] = inc / (el[i] - el[prev])
			if steps {
				pT = append(pT, el[prev], el[i])
				pP = append(pP, pw[i], pw[i])
			}
			if first >= 0 && math.IsNaN(pw[first]) {
				pw[first] = pw[i]
			}
		} else {
			first = i
		}
		prev = i
		cum[i] = acc.value()
	}
	if prev < 0 {
		return math.NaN(), cum, pw, 0, nil, nil
	}
	return acc.value(), cum, pw, resets, pT, pP
}

// energize computes a series' energy from its merged Energy fields: a
// cumulative counter if there is one (method counter; a power field
// beside it is integrated as a cross-check and is the series' power),
// else the power field (NodePower, CurrPower or Power), else the sum of
// the GPU powers. GPU powers are also integrated on their own.
func (s *series) energize(pw, ctr []float64, gpus [][]float64, power, counter *profile.Column, pricing bool) {
	if len(gpus) > 0 {
		s.gpu = make([]float64, len(s.el))
		var total kahanSum
		for _, g := range gpus {
			e, _ := trapezoid(s.el, g)
			total.add(e)
			for i, v := range g {
				s.gpu[i] += v // NaN stays NaN
			}
		}
		s.gpuEnergy = total.value()
	}
	switch {
	case ctr != nil:
		s.method, s.field = methodCounter, counter.Name
		var dp []float64
		s.energy, s.cum, dp, s.resets, s.priceT, s.priceP = counterEnergy(s.el, ctr, pricing)
		s.quality.CounterResets += s.resets
		s.pw = dp
		if pw != nil {
			s.pw = pw
			s.trapEnergy, _ = trapezoid(s.el, pw)
		}
	case pw != nil:
		s.method, s.field = methodTrapezoid, power.Name
		s.pw = pw
		s.energy, s.cum = trapezoid(s.el, pw)
	default:
		s.method, s.field = methodTrapezoid, "GPU"
		s.pw = s.gpu
		_, s.cum = trapezoid(s.el, s.gpu)
		s.energy = s.gpuEnergy
	}
}

// powerCurve is a series' power on the job's timeline: times (seconds since
// the job's first sample, increasing) and finite powers.
type powerCurve struct{ t, p []float64 }

// curve is the power curve of s (the samples with a power).
func (run *fileRun) curve(s *series) powerCurve {
	c := powerCurve{t: make([]float64, 0, len(s.pw)), p: make([]float64, 0, len(s.pw))}
	for i, p := range s.pw {
		if !math.IsNaN(p) {
			c.t = append(c.t, run.rel(s, s.el[i]))
			c.p = append(c.p, p)
		}
	}
	return c
}

// peakPower is the peak of the summed power of curves: the maximum, over
// the union of their sample times, of the sum of each curve's power
// linearly interpolated in time. A curve adds nothing outside its own
// first and last sample (no extrapolation). Ties go to the earliest time.
// NaN, NaN without samples.
func peakPower(curves []powerCurve) (peak, at float64) {
	peak, at = math.NaN(), math.NaN()
	idx := make([]int, len(curves))
	for {
		tau := math.Inf(1)
		for k, c := range curves {
			if idx[k] < len(c.t) && c.t[idx[k]] < tau {
				tau = c.t[idx[k]]
			}
		}
		if math.IsInf(tau, 1) {
			return peak, at
		}
		var total kahanSum
		for k, c := range curves {
			i := idx[k]
			switch {
			case i < len(c.t) && c.t[i] == tau:
				total.add(c.p[i])
				idx[k]++
			case i == 0 || i >= len(c.t):
				// Before the curve's first sample or after its last.
			default:
				t0, t1, p0, p1 := c.t[i-1], c.t[i], c.p[i-1], c.p[i]
				total.add(p0 + (p1-p0)*((tau-t0)/(t1-t0)))
			}
		}
		if v := total.value(); math.IsNaN(peak) || v > peak {
			peak, at = v, tau
		}
	}
}

// numbered reports whether a step is a numbered step of the job (not
// batch, not extern: 4294967292, which sh5util writes as "-4").
func numbered(step string) bool {
	return allDigits(step) && step != "4294967292"
}

// footprint is the cost and carbon of one series.
type footprint struct {
	cost, co2       *float64
	costErr, co2Err string
}

// summarize computes every figure of the summary except the table's NULL
// counts (build adds them).
func (run *fileRun) summarize() {
	sum := &analysis.Summary{Nodes: []analysis.NodeSummary{}, Steps: []analysis.StepSummary{}, TotalSteps: []string{}}
	run.sum = sum
	sum.StartEpochS = analysis.Finite(run.startEpoch())
	pricingOn := run.opt.Price != nil || run.opt.Carbon != nil
	if run.opt.Price != nil {
		sum.PriceSource = fmt.Sprint(run.opt.Price)
	}
	if run.opt.Carbon != nil {
		sum.CarbonSource = fmt.Sprint(run.opt.Carbon)
	}
	curves := make([]powerCurve, len(run.series))
	feet := make([]footprint, len(run.series))
	notes := make(map[string]bool)
	for i, s := range run.series {
		if !s.hasEnergy {
			continue
		}
		curves[i] = run.curve(s)
		if pricingOn {
			feet[i] = run.price(s, notes)
		}
	}
	for n := range notes {
		sum.PricingNotes = append(sum.PricingNotes, n)
	}
	sort.Strings(sum.PricingNotes)

	// Job-wide quality: every series' counters.
	q := &run.quality
	for _, s := range append(append([]*series(nil), run.series...), run.dropped...) {
		q.Merge(s.quality)
	}
	if q.Columns == nil {
		q.Columns = map[string]analysis.QualityCounts{}
	}

	// Nodes.
	for i, s := range run.series {
		ns := analysis.NodeSummary{Step: s.step, Node: s.node, Method: s.method, PowerField: s.field,
			CPUsPerTask: s.cpus, Tasks: s.tasks, CounterResets: s.resets, Quality: s.quality.QualityCounts,
			EnergySources: s.sources}
		if s.hasEnergy {
			ns.Samples = int64(len(s.el))
			ns.TrapezoidEnergyJ = analysis.Finite(s.trapEnergy)
			run.figures(&ns.Figures, []int{i}, curves, feet, pricingOn)
		}
		sum.Nodes = append(sum.Nodes, ns)
	}

	// Steps, in the table's order.
	var steps []string
	members := make(map[string][]int)
	for i, s := range run.series {
		if _, ok := members[s.step]; !ok {
			steps = append(steps, s.step)
		}
		members[s.step] = append(members[s.step], i)
	}

	// The total's basis.
	var withEnergy []int
	for i, s := range run.series {
		if s.hasEnergy {
			withEnergy = append(withEnergy, i)
		}
	}
	inTotal := make(map[string]bool)
	switch {
	case len(withEnergy) == 0:
		sum.TotalBasis = analysis.BasisNone
	case len(withEnergy) == 1:
		sum.TotalBasis = analysis.BasisSingle
		inTotal[run.series[withEnergy[0]].step] = true
	default:
		for _, i := range withEnergy {
			if st := run.series[i].step; numbered(st) {
				inTotal[st] = true
			}
		}
		sum.TotalBasis = analysis.BasisSteps
		if len(inTotal) == 0 {
			for _, i := range withEnergy {
				if run.series[i].step == "batch" {
					inTotal["batch"] = true
					sum.TotalBasis = analysis.BasisBatch
				}
			}
		}
		if len(inTotal) == 0 {
			// Neither numbered nor batch steps (e.g. only the extern
			// step): every step with energy data.
			for _, i := range withEnergy {
				inTotal[run.series[i].step] = true
			}
		}
	}

	overlaps := run.overlaps(steps, members)
	for _, st := range steps {
		ss := analysis.StepSummary{Step: st, Nodes: len(members[st]), InTotal: inTotal[st], Overlaps: overlaps[st]}
		if ss.Overlaps == nil {
			ss.Overlaps = []string{}
		}
		for _, i := range members[st] {
			ss.Quality.Add(run.series[i].quality.QualityCounts)
		}
		run.figures(&ss.Figures, members[st], curves, feet, pricingOn)
		sum.Steps = append(sum.Steps, ss)
		if inTotal[st] {
			sum.TotalSteps = append(sum.TotalSteps, st)
		}
	}
	var total []int
	for _, i := range withEnergy {
		if inTotal[run.series[i].step] {
			total = append(total, i)
		}
	}
	run.figures(&sum.Figures, total, curves, feet, pricingOn)
	for _, st := range sum.Steps {
		if !st.InTotal {
			continue
		}
		for _, o := range st.Overlaps {
			if inTotal[o] {
				run.warn("steps %s and %s of the total overlap in time on a node: the node's power is counted in both", st.Step, o)
			}
		}
	}
	sum.Quality = run.quality
	sum.Warnings = run.Res.Details.Warnings
}

// figures fills f from the series idx (those without energy data are left
// out): energy and GPU energy summed, wall time from the first to the last
// energy sample, the peak of the summed power, cost and carbon summed.
func (run *fileRun) figures(f *analysis.Figures, idx []int, curves []powerCurve, feet []footprint, pricingOn bool) {
	var e, g kahanSum
	hasGPU := false
	first, last := math.Inf(1), math.Inf(-1)
	var cs []powerCurve
	var used []int
	for _, i := range idx {
		s := run.series[i]
		if !s.hasEnergy {
			continue
		}
		used = append(used, i)
		e.add(s.energy)
		if !math.IsNaN(s.gpuEnergy) {
			g.add(s.gpuEnergy)
			hasGPU = true
		}
		first = min(first, run.rel(s, s.el[0]))
		last = max(last, run.rel(s, s.el[len(s.el)-1]))
		cs = append(cs, curves[i])
	}
	if len(used) == 0 {
		return
	}
	f.SetEnergy(e.value(), last-first)
	if hasGPU {
		f.GPUEnergyJ = analysis.Finite(g.value())
	}
	start := run.startEpoch()
	f.FirstEpochS, f.LastEpochS = analysis.Finite(start+first), analysis.Finite(start+last)
	if peak, at := peakPower(cs); !math.IsNaN(peak) {
		f.PeakPowerW, f.PeakPowerTimeS, f.PeakPowerEpochS = analysis.Finite(peak), analysis.Finite(at), analysis.Finite(start+at)
	}
	if !pricingOn {
		return
	}
	label := func(i int) string {
		return fmt.Sprintf("step %s node %s", run.series[i].step, run.series[i].node)
	}
	combine := func(on bool, get func(footprint) (*float64, string)) (*float64, string) {
		if !on {
			return nil, ""
		}
		var acc kahanSum
		var firstErr string
		missing := 0
		for _, i := range used {
			v, why := get(feet[i])
			if v == nil {
				missing++
				if firstErr == "" {
					firstErr = why
					if len(used) > 1 {
						firstErr = label(i) + ": " + why
					}
				}
				continue
			}
			acc.add(*v)
		}
		if missing > 0 {
			if missing > 1 {
				firstErr += fmt.Sprintf(" (and %d more series)", missing-1)
			}
			return nil, firstErr
		}
		return analysis.Finite(acc.value()), ""
	}
	f.CostEUR, f.CostError = combine(run.opt.Price != nil, func(c footprint) (*float64, string) { return c.cost, c.costErr })
	f.CO2Kg, f.CarbonError = combine(run.opt.Carbon != nil, func(c footprint) (*float64, string) { return c.co2, c.co2Err })
}

// price assesses one series' cost and carbon: its power (W) integrated
// against the price and carbon intensity over absolute time. A counter's
// power is its step function, so that the cost is exactly the energy
// times the price where the price is constant.
func (run *fileRun) price(s *series, notes map[string]bool) footprint {
	t, p := s.priceT, s.priceP
	if t == nil {
		t, p = s.el, s.pw
	}
	abs := make([]float64, len(t))
	for i, x := range t {
		abs[i] = s.start + x
	}
	fp := pricing.Assess(run.Ctx, run.opt.Price, run.opt.Carbon, abs, p)
	for _, n := range fp.Notes {
		notes[n] = true
	}
	return footprint{cost: fp.CostEUR, costErr: fp.CostError, co2: fp.CarbonKgCO2e, co2Err: fp.CarbonError}
}

// overlaps lists, per step, the other steps that ran on one of its nodes
// at the same time (their sample ranges on that node overlap).
func (run *fileRun) overlaps(steps []string, members map[string][]int) map[string][]string {
	type span struct{ a, b float64 }
	spans := make(map[string]map[string]span) // step -> node -> span
	for _, st := range steps {
		spans[st] = make(map[string]span)
		for _, i := range members[st] {
			s := run.series[i]
			if len(s.rows) == 0 {
				continue
			}
			spans[st][s.node] = span{run.rel(s, s.rows[0]), run.rel(s, s.rows[len(s.rows)-1])}
		}
	}
	out := make(map[string][]string)
	for _, x := range steps {
		for _, y := range steps {
			if x == y {
				continue
			}
			for node, sx := range spans[x] {
				sy, ok := spans[y][node]
				if ok && max(sx.a, sy.a) < min(sx.b, sy.b) {
					out[x] = append(out[x], y)
					break
				}
			}
		}
	}
	return out
}

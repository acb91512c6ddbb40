package corrected

// Energy sources of a node. Slurm writes a node's power to a dataset named
// Energy, but a site's plugin may write it elsewhere, and a node may carry
// more than one meter (a GPU plugin beside the node's power). Every
// dataset whose fields are a time and a power or energy field is a
// candidate (datasetKind); the one with the most energy is the node's, as a
// whole-node meter reads at least what any part of the node draws. The
// others are reported as ignored, and a warning says when the candidates
// disagree or when the power was found outside a dataset named Energy.

import (
	"fmt"
	"math"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// sourceDisagreement is the relative difference between two sources'
// energies above which they are reported as disagreeing.
const sourceDisagreement = 0.05

// energySources loads the energy candidates of s and keeps the largest.
func (run *fileRun) energySources(r *hdf5.Reader, s *series, list []*profile.Dataset) error {
	if len(list) == 0 {
		return nil
	}
	type cand struct {
		ds *profile.Dataset
		s  *series
	}
	var cands []cand
	for _, ds := range list {
		c := s
		if len(list) > 1 {
			// Each candidate on its own series; the chosen one is copied.
			c = &series{step: s.step, node: s.node, group: s.group, top: s.top, cpus: s.cpus,
				energy: math.NaN(), gpuEnergy: math.NaN(), trapEnergy: math.NaN()}
		}
		if err := run.dataset(r, c, kindEnergy, ds); err != nil {
			return err
		}
		if c.hasEnergy {
			cands = append(cands, cand{ds, c})
		}
	}
	if len(cands) == 0 {
		return nil
	}
	best := 0
	for i, c := range cands {
		if math.Abs(c.s.energy) > math.Abs(cands[best].s.energy) {
			best = i
		}
	}
	w := cands[best]
	if w.s != s {
		s.take(w.s)
	}
	if run.fields == nil {
		run.fields = make(map[string]bool)
	}
	run.fields[s.field] = true
	if s.powerName != "" {
		run.fields[s.powerName] = true
	}
	if w.ds.Name != kindEnergy {
		run.warn("%s: power found by its fields in %s, not in a dataset named Energy", s.group.Path(), w.ds.Path())
	}
	src := func(c cand, used bool, why string) analysis.EnergySource {
		return analysis.EnergySource{Dataset: c.ds.Path(), Field: c.s.field, Method: c.s.method,
			EnergyJ: analysis.Finite(c.s.energy), Used: used, Reason: why}
	}
	s.sources = []analysis.EnergySource{src(w, true, "")}
	for i, c := range cands {
		if i == best {
			continue
		}
		why := fmt.Sprintf("%.6g J, less than %s (%.6g J)", c.s.energy, w.ds.Path(), w.s.energy)
		s.sources = append(s.sources, src(c, false, why))
		run.relabel(s.top, c.ds, why)
		if d := math.Abs(w.s.energy - c.s.energy); d > sourceDisagreement*math.Abs(w.s.energy) {
			run.warn("%s: energy sources disagree: %s gives %.6g J, %s %.6g J; the largest is used", s.group.Path(),
				w.ds.Path(), w.s.energy, c.ds.Path(), c.s.energy)
		}
	}
	return nil
}

// take copies the energy data of another candidate series into s.
func (s *series) take(o *series) {
	s.hasEnergy = o.hasEnergy
	s.el, s.pw, s.gpu, s.cum, s.priceT, s.priceP = o.el, o.pw, o.gpu, o.cum, o.priceT, o.priceP
	s.energy, s.gpuEnergy, s.trapEnergy = o.energy, o.gpuEnergy, o.trapEnergy
	s.method, s.field, s.powerName, s.resets = o.method, o.field, o.powerName, o.resets
	if o.hasStart {
		s.start, s.hasStart = o.start, true
	}
	s.quality.Merge(o.quality)
}

// relabel turns the report of a dataset recorded as used into ignored.
func (run *fileRun) relabel(top string, ds *profile.Dataset, why string) {
	rep := run.reports[top]
	if rep == nil {
		return
	}
	path := ds.Path()[1:]
	for i := range rep.Datasets {
		if d := &rep.Datasets[i]; d.Path == path && d.Status == analysis.DatasetUsed {
			d.Status, d.Error, d.Rows = statusIgnored, why, 0
		}
	}
}

// Package compat is the compat pipeline: the original Python pipeline's
// semantics (docs/compat-pipeline.md), run on an engine.Engine. The HDF5
// reader loads one dataset at a time, each used one is kept as a frame
// (its working values in time order), and build.go computes the
// time-aligned table, its derived columns and the metrics from the
// frames, row by row as the table is read; casts.go holds the §8 output
// casts.
package compat

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"unsafe"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// Options are the per-file options of a compat run.
type Options struct {
	// Name is what the label derives from: the object key for an object
	// downloaded to a temporary path. Default: the path.
	Name string
}

// Pipeline runs the compat pipeline on an engine.
type Pipeline struct {
	e *engine.Engine

	lastPlan plan // the last run's plan, for tests (written under the engine's lock)
}

// New returns the compat pipeline of an engine.
func New(e *engine.Engine) *Pipeline { return &Pipeline{e: e} }

// Run analyses one HDF5 file as the original pipeline did
// (docs/compat-pipeline.md). A file that yields no table is not an error:
// the Result's Skip says why. The error is for failures of the engine
// itself (a cancelled context, ...); the Result is nil then. On success
// the table replaces the previous one in the engine and its
// ScanRows/WriteCSV read it; after a skip there is no table.
func (p *Pipeline) Run(ctx context.Context, path string, opt Options) (*analysis.Result, error) {
	return p.e.Run(ctx, analysis.Compat, path, opt.Name, func(r *engine.Run) (*engine.Table, error) {
		run := &compatRun{Run: r}
		defer func() { p.lastPlan = run.plan }()
		err := run.file(path)
		return run.out, err
	})
}

// compatRun is the state of one compat run.
type compatRun struct {
	*engine.Run
	frames []*frame
	plan   plan
	out    *engine.Table
}

// frame is one used dataset in the frame's sorted row order: its distinct
// ElapsedTimes (after the stable sort and truncation) with the rows of
// each, and one float64 column per other member, holding the working
// values (§4.5: integers round to nearest).
type frame struct {
	prefix  string
	members []string
	rows    int
	times   []uint64    // distinct times, in order
	starts  []int       // first row of each time; starts[len(times)] = rows
	vals    [][]float64 // per member, per row
	dups    bool        // some time has more than one row
	// first is, for a frame absent at some time of the timeline, the
	// position of the first joined row at each of its times (makePlan).
	first []int64
}

// file runs the pipeline on one file: §2 whole-file checks, §3 group and
// dataset selection, then the table (build.go).
func (run *compatRun) file(p string) error {
	r, f, err := run.OpenProfile(p)
	if err != nil {
		return err
	}
	defer r.Close()
	if f.Root.Err != nil {
		// h5py lists the root's links before anything else; a listing that
		// fails makes the whole file unreadable.
		return engine.Skipf(analysis.SkipUnreadable, "root group: %v", f.Root.Err)
	}
	// §3.1: top-level items in byte order; the first that yields a frame wins.
	for _, it := range f.Root.Items {
		var list []*profile.Dataset
		switch {
		case it.Dataset != nil:
			list = []*profile.Dataset{it.Dataset}
		case it.Group != nil:
			// The original lists the whole sub-tree before reading any
			// dataset; a group that cannot be listed fails the file.
			if err := subtreeError(it.Group); err != nil {
				return engine.Skipf(analysis.SkipUnreadable, "%v", err)
			}
			list = it.Group.Datasets()
		default:
			continue
		}
		used, err := run.group(r, it.Name(), list)
		if err != nil {
			return err
		}
		if used {
			run.Res.Details.Group = it.Name()
			return run.build()
		}
	}
	return engine.Skipf(analysis.SkipNoData, "no group has a usable dataset")
}

func subtreeError(g *profile.Group) error {
	if g.Err != nil {
		return fmt.Errorf("group %s: %w", g.Path(), g.Err)
	}
	for _, it := range g.Items {
		if it.Group != nil {
			if err := subtreeError(it.Group); err != nil {
				return err
			}
		}
	}
	return nil
}

// group processes the datasets of one top-level item (§3.2) and reports
// whether any became a frame.
func (run *compatRun) group(r *hdf5.Reader, name string, list []*profile.Dataset) (bool, error) {
	rep := analysis.GroupReport{Group: name, Datasets: []analysis.DatasetReport{}}
	defer func() { run.Res.Details.Groups = append(run.Res.Details.Groups, rep) }()
	for _, ds := range list {
		if err := run.Ctx.Err(); err != nil {
			return false, err
		}
		rep.Total++
		d := analysis.DatasetReport{Path: strings.Join(ds.Parts, "/")}
		status, err := run.dataset(r, ds)
		if err != nil {
			return false, err
		}
		switch status {
		case analysis.DatasetUsed:
			fr := run.frames[len(run.frames)-1]
			d.Prefix, d.Rows = fr.prefix, fr.rows
		case analysis.DatasetEmpty:
			rep.Empty++
		case analysis.DatasetZeroPower:
			rep.ZeroPower++
		default: // "error: ..."
			rep.Errors++
			if ds.Err != nil {
				d.Error = ds.Err.Error()
			}
		}
		d.Status = status
		rep.Datasets = append(rep.Datasets, d)
	}
	return len(run.frames) > 0, nil
}

// dataset loads one dataset, applies the §3.2 rules and, if it is used,
// keeps it as a frame. The loaded dataset is released before return.
func (run *compatRun) dataset(r *hdf5.Reader, ds *profile.Dataset) (string, error) {
	if ds.Err != nil {
		return engine.DatasetErrorStatus(ds.Err), nil
	}
	if err := r.Load(ds); err != nil {
		if skip := engine.InflateSkip(ds, err); skip != nil {
			return "", skip
		}
		if de, ok := profile.AsDatasetError(err); ok {
			return engine.DatasetErrorStatus(de), nil
		}
		return "", engine.Skipf(analysis.SkipUnexpected, "load %s: %v", ds.Path(), err)
	}
	defer r.Release(ds)
	if ds.Rows == 0 || len(ds.Columns) == 0 {
		return analysis.DatasetEmpty, nil
	}
	if c := ds.Column("NodePower"); c != nil && sumIsZero(c) {
		return analysis.DatasetZeroPower, nil
	}
	if err := run.appendFrame(ds); err != nil {
		return "", err
	}
	return analysis.DatasetUsed, nil
}

// sumIsZero is the zero-power test: the column's sum, in its own type as
// the original's polars sum, is 0.
func sumIsZero(c *profile.Column) bool {
	switch c.Kind {
	case profile.Uint:
		var s uint64
		for _, v := range c.U {
			s += v
		}
		return s == 0
	case profile.Int:
		var s int64
		for _, v := range c.I {
			s += v
		}
		return s == 0
	}
	var s float64
	for _, v := range c.F {
		s += v
	}
	return s == 0
}

// elapsed returns the frame's ElapsedTime as UInt64 in sorted row order,
// and the order (nil when the rows are already sorted). §3.2 steps 4-6: a
// missing ElapsedTime is the row index; the sort is stable and uses the
// stored value (floats before truncation); floats truncate toward zero.
// Values that do not convert fail the file, as the original's strict cast.
func elapsed(ds *profile.Dataset) ([]uint64, []int, error) {
	n := ds.Rows
	et := make([]uint64, n)
	c := ds.Column("ElapsedTime")
	if c == nil {
		for i := range et {
			et[i] = uint64(i)
		}
		return et, nil, nil
	}
	bad := func(i int, v any) error {
		return engine.Skipf(analysis.SkipUnexpected, "%s: ElapsedTime %v (row %d) does not convert to UInt64", ds.Path(), v, i)
	}
	var less func(a, b int) bool
	switch c.Kind {
	case profile.Uint:
		less = func(a, b int) bool { return c.U[a] < c.U[b] }
	case profile.Int:
		for i, v := range c.I {
			if v < 0 {
				return nil, nil, bad(i, v)
			}
		}
		less = func(a, b int) bool { return c.I[a] < c.I[b] }
	default:
		for i, v := range c.F {
			if math.IsNaN(v) || v <= -1 || v >= 1<<64 {
				return nil, nil, bad(i, v)
			}
		}
		less = func(a, b int) bool { return c.F[a] < c.F[b] }
	}
	var order []int
	for i := 1; i < n; i++ {
		if less(i, i-1) {
			order = make([]int, n)
			for j := range order {
				order[j] = j
			}
			sort.SliceStable(order, func(a, b int) bool { return less(order[a], order[b]) })
			break
		}
	}
	for i := range et {
		src := i
		if order != nil {
			src = order[i]
		}
		switch c.Kind {
		case profile.Uint:
			et[i] = c.U[src]
		case profile.Int:
			et[i] = uint64(c.I[src])
		default:
			et[i] = uint64(math.Trunc(c.F[src]))
		}
	}
	return et, order, nil
}

// appendFrame keeps a used dataset as a frame, in sorted order. A
// column already in order is converted in place and kept, not copied.
func (run *compatRun) appendFrame(ds *profile.Dataset) error {
	et, order, err := elapsed(ds)
	if err != nil {
		return err
	}
	fr := &frame{prefix: ds.Prefix(), rows: ds.Rows}
	for i, t := range et {
		if i > 0 && t == et[i-1] {
			fr.dups = true
			continue
		}
		fr.times = append(fr.times, t)
		fr.starts = append(fr.starts, i)
	}
	fr.starts = append(fr.starts, ds.Rows)
	for i := range ds.Columns {
		c := &ds.Columns[i]
		if c.Name == "ElapsedTime" {
			continue
		}
		if c.Len() != ds.Rows {
			return engine.Skipf(analysis.SkipUnexpected, "%s: column %s has %d values for %d rows", ds.Path(), c.Name, c.Len(), ds.Rows)
		}
		fr.members = append(fr.members, c.Name)
		fr.vals = append(fr.vals, workingValues(c, order))
		if err := run.Ctx.Err(); err != nil {
			return err
		}
	}
	run.frames = append(run.frames, fr)
	return nil
}

// workingValues is a column's values as float64 in sorted order. The
// loaded column is released after this, so a column in order is
// converted in its own memory (8 bytes a value either way).
func workingValues(c *profile.Column, order []int) []float64 {
	n := c.Len()
	if order != nil {
		v := make([]float64, n)
		for i, src := range order {
			v[i] = c.Float(src)
		}
		return v
	}
	switch c.Kind {
	case profile.Float:
		return c.F
	case profile.Uint:
		return toFloatInPlace(c.U)
	default:
		return toFloatInPlace(c.I)
	}
}

// toFloatInPlace converts integers to float64 in their own memory (the
// same 8 bytes each) and returns that memory as []float64.
func toFloatInPlace[T uint64 | int64](x []T) []float64 {
	if len(x) == 0 {
		return nil
	}
	v := unsafe.Slice((*float64)(unsafe.Pointer(&x[0])), len(x))
	for i, e := range x {
		v[i] = float64(e)
	}
	return v
}

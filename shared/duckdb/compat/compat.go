// Package compat is the compat pipeline: the original Python pipeline's
// semantics (docs/compat-pipeline.md), run on a duckdb.Engine. The HDF5
// reader feeds one dataset at a time into DuckDB through the Appender, and
// SQL builds the time-aligned table, its derived columns and the metrics
// (build.go); casts.go holds the §8 output casts.
package compat

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/duckdb"
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
	e *duckdb.Engine

	// How the last run went, for tests (written under the engine's lock).
	lastSumInGo bool // Energy_used_J was summed in Go
	lastDense   bool // a frame had one row at every time
}

// New returns the compat pipeline of an engine.
func New(e *duckdb.Engine) *Pipeline { return &Pipeline{e: e} }

// Run analyses one HDF5 file as the original pipeline did
// (docs/compat-pipeline.md). A file that yields no table is not an error:
// the Result's Skip says why. The error is for failures of the engine
// itself (cancelled context, DuckDB out of memory, ...); the Result is nil
// then. On success the table replaces the previous one in the engine and
// its ScanRows/WriteCSV read it; after a skip there is no table.
func (p *Pipeline) Run(ctx context.Context, path string, opt Options) (*analysis.Result, error) {
	return p.e.Run(ctx, analysis.Compat, path, opt.Name, func(r *duckdb.Run) (*duckdb.Table, error) {
		run := &compatRun{Run: r}
		defer func() { p.lastSumInGo, p.lastDense = run.sumInGo, run.dense }()
		err := run.file(path)
		return run.out, err
	})
}

// compatRun is the state of one compat run.
type compatRun struct {
	*duckdb.Run
	frames []*frame
	out    *duckdb.Table

	// How the run went, for tests.
	sumInGo bool // Energy_used_J was summed in Go (inexact increments)
	dense   bool // some frame had one row at every time
}

// frame is one used dataset, stored in DuckDB as table f<k>: et UBIGINT
// (ElapsedTime after the stable sort and truncation) and one DOUBLE column
// c<j> per other member, holding the working (float64) values. Rows are
// appended in the frame's sorted order, so rowid is the row's ordinal.
type frame struct {
	table   string
	prefix  string
	members []string // member names of the value columns, in order
	rows    int
	// The distinct ElapsedTimes in order and the rows at each, kept to
	// size the plan (timeline length, absent times, row count) before
	// the SQL runs; dropped once the plan is made.
	times  []uint64
	counts []int32
	dups   bool // some time has more than one row
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
		return duckdb.Skipf(analysis.SkipUnreadable, "root group: %v", f.Root.Err)
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
				return duckdb.Skipf(analysis.SkipUnreadable, "%v", err)
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
	return duckdb.Skipf(analysis.SkipNoData, "no group has a usable dataset")
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
// appends it to DuckDB as a frame. Its values are released before return.
func (run *compatRun) dataset(r *hdf5.Reader, ds *profile.Dataset) (string, error) {
	if ds.Err != nil {
		return duckdb.DatasetErrorStatus(ds.Err), nil
	}
	if err := r.Load(ds); err != nil {
		if skip := duckdb.InflateSkip(ds, err); skip != nil {
			return "", skip
		}
		if de, ok := profile.AsDatasetError(err); ok {
			return duckdb.DatasetErrorStatus(de), nil
		}
		return "", duckdb.Skipf(analysis.SkipUnexpected, "load %s: %v", ds.Path(), err)
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
		return duckdb.Skipf(analysis.SkipUnexpected, "%s: ElapsedTime %v (row %d) does not convert to UInt64", ds.Path(), v, i)
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

// appendFrame stores a used dataset as frame table f<k> through the
// Appender, in sorted order. Values are appended as float64 (the working
// values of §4.5: integers round to nearest).
func (run *compatRun) appendFrame(ds *profile.Dataset) error {
	et, order, err := elapsed(ds)
	if err != nil {
		return err
	}
	fr := &frame{table: fmt.Sprintf("f%d", len(run.frames)), prefix: ds.Prefix(), rows: ds.Rows}
	for i, t := range et {
		if i > 0 && t == et[i-1] {
			fr.counts[len(fr.counts)-1]++
			fr.dups = true
			continue
		}
		fr.times = append(fr.times, t)
		fr.counts = append(fr.counts, 1)
	}
	var cols []*profile.Column
	defs := []string{"et UBIGINT"}
	for i := range ds.Columns {
		c := &ds.Columns[i]
		if c.Name == "ElapsedTime" {
			continue
		}
		if c.Len() != ds.Rows {
			return duckdb.Skipf(analysis.SkipUnexpected, "%s: column %s has %d values for %d rows", ds.Path(), c.Name, c.Len(), ds.Rows)
		}
		defs = append(defs, fmt.Sprintf("c%d DOUBLE", len(cols)))
		cols = append(cols, c)
		fr.members = append(fr.members, c.Name)
	}
	run.AddScratch(fr.table)
	if err := run.Exec(fmt.Sprintf("CREATE OR REPLACE TABLE %s (%s)", fr.table, strings.Join(defs, ", "))); err != nil {
		return err
	}
	types := make([]mapping.Type, len(cols)+1)
	types[0] = mapping.TypeUBigInt
	for j := range cols {
		types[j+1] = mapping.TypeDouble
	}
	a, err := run.DB.NewAppender(fr.table, types)
	if err != nil {
		return fmt.Errorf("append %s: %w", ds.Path(), err)
	}
	// One data chunk at a time, column by column: the values are written
	// straight into the chunk's vectors (working values as float64,
	// §4.5: integers round to nearest), in sorted order.
	for off := 0; off < ds.Rows; off += duckdb.VectorSize {
		n := min(duckdb.VectorSize, ds.Rows-off)
		copy(a.Uint64s(0), et[off:off+n])
		for j, c := range cols {
			dst := a.Float64s(j + 1)[:n]
			switch {
			case order != nil:
				for i := range dst {
					dst[i] = c.Float(order[off+i])
				}
			case c.Kind == profile.Float:
				copy(dst, c.F[off:off+n])
			case c.Kind == profile.Uint:
				for i, v := range c.U[off : off+n] {
					dst[i] = float64(v)
				}
			default:
				for i, v := range c.I[off : off+n] {
					dst[i] = float64(v)
				}
			}
		}
		if err := a.Flush(n); err != nil {
			a.Close()
			return fmt.Errorf("append %s: %w", ds.Path(), err)
		}
		if err := run.Ctx.Err(); err != nil {
			a.Close()
			return err
		}
	}
	if err := a.Close(); err != nil {
		return fmt.Errorf("append %s: %w", ds.Path(), err)
	}
	run.frames = append(run.frames, fr)
	return nil
}

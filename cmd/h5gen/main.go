// Command h5gen writes synthetic Slurm job-profile HDF5 files
// (acct_gather_profile/hdf5 node-step files or an sh5util-merged job file),
// deterministically for a seed.
//
//	h5gen -layout node-step -job 12345 -steps 1 -nodes 2 -tasks-per-node 2 -rows 300 -out /tmp/prof
//	h5gen -layout merged -batch -steps 2 -nodes 2 -series all -energy xcc -seed 7 -out /tmp/prof
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/benchwrap/backend/shared/hdf5/gen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "h5gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	s := gen.Default()
	fs := flag.NewFlagSet("h5gen", flag.ContinueOnError)
	layout := fs.String("layout", string(s.Layout), "file layout: node-step (one <job>_<step>_<node>.h5 per step and node) or merged (job_<job>.h5, as sh5util writes)")
	fs.Uint64Var(&s.JobID, "job", s.JobID, "job id")
	fs.IntVar(&s.Steps, "steps", s.Steps, "number of numbered steps (0..steps-1)")
	fs.BoolVar(&s.Batch, "batch", s.Batch, "add the batch step (first node only, task 0)")
	fs.IntVar(&s.Nodes, "nodes", s.Nodes, "nodes per step")
	fs.StringVar(&s.NodePrefix, "node-prefix", s.NodePrefix, "node names are <prefix>01, <prefix>02, ...")
	fs.IntVar(&s.TasksPerNode, "tasks-per-node", s.TasksPerNode, "tasks per node in numbered steps (global task ids)")
	fs.IntVar(&s.CPUsPerTask, "cpus-per-task", s.CPUsPerTask, "\"CPUs per Task\" attribute (also scales CPUUtilization)")
	fs.IntVar(&s.Rows, "rows", s.Rows, "energy samples per step and node")
	fs.Float64Var(&s.Interval, "interval", s.Interval, "seconds between energy samples")
	fs.Float64Var(&s.TaskInterval, "task-interval", s.TaskInterval, "seconds between task, filesystem and network samples")
	fs.Float64Var(&s.Jitter, "jitter", s.Jitter, "each sample is late by up to this many seconds (gives duplicate and skipped ElapsedTime)")
	fs.Float64Var(&s.Gaps, "gaps", s.Gaps, "probability that a sample is missed, in [0,1)")
	fs.Float64Var(&s.Dups, "dups", s.Dups, "probability that a sample repeats the previous timestamp, in [0,1)")
	fs.BoolVar(&s.Fractional, "fractional", s.Fractional, "store ElapsedTime as float64 with fractional seconds (not something Slurm writes)")
	series := fs.String("series", strings.Join(s.Series, ","), "comma-separated series: energy,task,filesystem,network, or all")
	energy := fs.String("energy", string(s.Energy), "energy fields: nodepower (ipmi NodePower), xcc (Energy+CurrPower), power (Power), gpu or gpu:<n> (GPU<i>Power), energy (cumulative Energy only)")
	fs.IntVar(&s.GPUs, "gpus", s.GPUs, "number of GPUs for -energy gpu")
	fs.Uint64Var(&s.EnergyOffset, "energy-offset", s.EnergyOffset, "initial value (J) of the cumulative Energy counter")
	fs.IntVar(&s.EnergyReset, "energy-reset", s.EnergyReset, "row at which the Energy counter restarts from 0 (0 = never)")
	power := fs.String("power", string(s.Power), "power shape: constant, ramp, step or random")
	fs.Float64Var(&s.PowerBase, "power-base", s.PowerBase, "base power (W)")
	fs.Float64Var(&s.PowerPeak, "power-peak", s.PowerPeak, "peak power (W) for ramp, step and random")
	fs.StringVar(&s.EnergyGroup, "energy-group", s.EnergyGroup, "name of the node's power dataset (default Energy), as a site's own plugin may write it")
	fs.Float64Var(&s.MinorPower, "minor-power", s.MinorPower, "add a second, smaller power source of this many W (named Energy when -energy-group renames the main one, else Minor)")
	fs.Uint64Var(&s.Inflate, "inflate", s.Inflate, "make the first chunk of each energy dataset a deflate stream of this many bytes: a bomb that declares only its rows")
	fs.Uint64Var(&s.Bomb, "bomb", s.Bomb, "make each energy dataset declare about this many bytes (8 per value) in a file of a few KB: a decompression bomb for the limits")
	fs.IntVar(&s.TaskFields, "task-fields", s.TaskFields, "task members: 12 (Slurm 23.02+) or 10 (older)")
	start := fs.String("start", s.Start.Format(time.RFC3339), "job start time (RFC 3339)")
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "random seed (same seed and flags give the same files)")
	out := fs.String("out", ".", "output directory")
	quiet := fs.Bool("q", false, "do not list the written files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	s.Layout = gen.Layout(*layout)
	s.Series = gen.ParseSeries(*series)
	s.Power = gen.Shape(*power)
	kind, n, hasN := strings.Cut(*energy, ":")
	s.Energy = gen.EnergyKind(kind)
	if hasN {
		g, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("-energy %q: bad GPU count", *energy)
		}
		s.GPUs = g
	}
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	s.Start = t
	paths, err := gen.Write(*out, s)
	if err != nil {
		return err
	}
	if !*quiet {
		for _, p := range paths {
			fmt.Println(p)
		}
	}
	return nil
}

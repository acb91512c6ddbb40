package main

// The shape matrix (`make bench-analyze-shapes`): for each input shape
// and size, both modes from HDF5 to a committed PostgreSQL table through
// bin/analyze, with the time, rows/s and the child's peak RSS, then per
// shape the ratio corrected / compat and how the time per row changes
// from the smallest size to the largest.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/hdf5/gen"
)

// shape is one input shape: how it changes the default spec for n energy
// rows in the whole file.
type shape struct {
	name string
	set  func(s *gen.Spec, n int)
}

var shapes = []shape{
	{"plain", func(s *gen.Spec, n int) {}},
	{"jitter", func(s *gen.Spec, n int) { irregular(s); s.Jitter = 1.5 }},
	{"dups", func(s *gen.Spec, n int) { irregular(s); s.Dups = 0.1 }},
	{"gaps", func(s *gen.Spec, n int) { irregular(s); s.Gaps = 0.1 }},
	{"xcc", func(s *gen.Spec, n int) { s.Energy = gen.EnergyXCC }},
	{"gpu", func(s *gen.Spec, n int) { s.Energy, s.GPUs = gen.EnergyGPU, 4 }},
	{"all-series", func(s *gen.Spec, n int) { s.Series, s.TasksPerNode = gen.ParseSeries("all"), 3 }},
	{"merged-4-nodes", func(s *gen.Spec, n int) {
		irregular(s)
		s.Layout, s.Nodes, s.Rows, s.Jitter = gen.Merged, 4, n/4, 1.5
	}},
}

// irregular is the shape of issue 13's slow uploads: xcc energy every 3 s,
// every series, 3 tasks sampled every 15 s.
func irregular(s *gen.Spec) {
	s.Energy, s.Interval, s.TaskInterval, s.TasksPerNode = gen.EnergyXCC, 3, 15, 3
	s.Series = gen.ParseSeries("all")
}

// Files of up to smallRepeatRows energy rows are analysed smallRepeats
// times per mode.
const (
	smallRepeatRows = 200_000
	smallRepeats    = 5
)

// median is the run of median wall time.
func median(rs []shapeResult) shapeResult {
	s := append([]shapeResult(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].secs < s[j].secs })
	return s[len(s)/2]
}

type shapeResult struct {
	secs    float64
	cpu     float64 // user + system seconds of bin/analyze (steadier than wall time on a busy host)
	rows    int64
	peakMiB float64
}

func runShapes(names, sizes, modes []string, analyzeBin, dbURL string) error {
	ctx := context.Background()
	pool, err := openMigrated(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	dir, err := os.MkdirTemp("", "bench-shapes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var ns []int
	for _, v := range sizes {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad size %q", v)
		}
		ns = append(ns, n)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[strings.TrimSpace(n)] = true
	}
	fmt.Printf("%-15s %9s %-9s %8s %8s %11s %9s %10s\n", "shape", "N", "mode", "seconds", "cpu s", "rows/s", "peak MiB", "table rows")
	type key struct {
		shape, mode string
		n           int
	}
	res := map[key]shapeResult{}
	failed := 0
	for _, sh := range shapes {
		if !want["all"] && !want[sh.name] {
			continue
		}
		for _, n := range ns {
			s := gen.Default()
			s.JobID, s.Rows, s.Seed = 900, n, 13
			sh.set(&s, n)
			sub := filepath.Join(dir, fmt.Sprintf("%s-%d", sh.name, n))
			files, err := gen.Write(sub, s)
			if err != nil {
				return fmt.Errorf("%s %d: %w", sh.name, n, err)
			}
			// A run of a small file takes a tenth of a second, as much as
			// the host's noise: those are run repeatedly, the modes
			// alternating, and the median run of each mode counts.
			reps := 1
			if n <= smallRepeatRows {
				reps = smallRepeats
			}
			runs := map[string][]shapeResult{}
			broken := map[string]bool{}
			for range reps {
				for _, mode := range modes {
					if broken[mode] {
						continue
					}
					r, err := analyzeOnce(ctx, pool, analyzeBin, dbURL, files, mode)
					if err != nil {
						// Reported in the matrix, which goes on.
						failed++
						broken[mode] = true
						fmt.Printf("%-15s %9d %-9s failed: %v\n", sh.name, n, mode, err)
						continue
					}
					runs[mode] = append(runs[mode], r)
				}
			}
			for _, mode := range modes {
				if broken[mode] {
					continue
				}
				r := median(runs[mode])
				res[key{sh.name, mode, n}] = r
				fmt.Printf("%-15s %9d %-9s %8.2f %8.2f %11.0f %9.0f %10d\n", sh.name, n, mode, r.secs, r.cpu, float64(r.rows)/r.secs, r.peakMiB, r.rows)
			}
			os.RemoveAll(sub)
		}
	}
	fmt.Println()
	fmt.Printf("%-15s %9s %26s %40s\n", "shape", "N", "corrected/compat wall, cpu", "cpu s/row at N / cpu s/row at first N")
	for _, sh := range shapes {
		if !want["all"] && !want[sh.name] {
			continue
		}
		for _, n := range ns {
			line := fmt.Sprintf("%-15s %9d", sh.name, n)
			c, okc := res[key{sh.name, "corrected", n}]
			p, okp := res[key{sh.name, "compat", n}]
			if okc && okp {
				line += fmt.Sprintf(" %20.2f, %4.2f", c.secs/p.secs, c.cpu/p.cpu)
			} else {
				line += fmt.Sprintf(" %26s", "-")
			}
			var growth []string
			for _, mode := range modes {
				a, b := res[key{sh.name, mode, ns[0]}], res[key{sh.name, mode, n}]
				if a.rows > 0 && b.rows > 0 {
					growth = append(growth, fmt.Sprintf("%s %.2f", mode, (b.cpu/float64(b.rows))/(a.cpu/float64(a.rows))))
				}
			}
			fmt.Printf("%s %40s\n", line, strings.Join(growth, ", "))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d analyses failed (see the table)", failed)
	}
	return nil
}

// analyzeOnce runs bin/analyze on the files into a scratch schema and
// drops it.
func analyzeOnce(ctx context.Context, pool *pgxpool.Pool, analyzeBin, dbURL string, files []string, mode string) (shapeResult, error) {
	schema := "bench_shapes_" + mode
	args := append([]string{"--postgres", dbURL, "--schema", schema, "--mode", mode}, files...)
	cmd := exec.Command(analyzeBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return shapeResult{}, err
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		return shapeResult{}, fmt.Errorf("%s: %w: %s", analyzeBin, err, lastLines(stderr.String(), 5))
	}
	r := shapeResult{secs: time.Since(start).Seconds(), peakMiB: float64(<-peak) / 1024}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'job\_%'`, schema)
	if err != nil {
		return r, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return r, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, t}.Sanitize()).Scan(&n); err != nil {
			return r, err
		}
		r.rows += n
	}
	_, err = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return r, err
}

// lastLines is the end of a command's output, for its error.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

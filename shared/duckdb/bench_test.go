package duckdb

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5/gen"
)

var (
	bigOnce sync.Once
	bigPath string
	bigErr  error
)

// bigFile writes, once per test binary, a single-node node-step file with
// 2,000,000 NodePower samples at 1 s and 4 tasks sampled every 30 s.
// BENCH_FILE names such a file written before (h5gen -rows 2000000
// -tasks-per-node 4) instead: generating it takes minutes on a busy host.
func bigFile(b *testing.B) string {
	if p := os.Getenv("BENCH_FILE"); p != "" {
		return p
	}
	bigOnce.Do(func() {
		var dir string
		dir, bigErr = os.MkdirTemp("", "compatbench")
		if bigErr != nil {
			return
		}
		s := gen.Default()
		s.Rows = 2_000_000
		s.Interval = 1
		s.TaskInterval = 30
		s.TasksPerNode = 4
		s.Series = []string{gen.SeriesEnergy, gen.SeriesTask}
		s.Energy = gen.EnergyNodePower
		start := time.Now()
		var paths []string
		paths, bigErr = gen.Write(dir, s)
		if bigErr == nil {
			bigPath = paths[0]
			b.Logf("generated %s in %v", filepath.Base(bigPath), time.Since(start))
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes, and
// resetPeakRSS starts a new measurement (Linux).
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkCompat2M measures the pipeline (HDF5 to the finished DuckDB
// table, metrics included) and the scan of the result, on the 2M-row
// file. Figures: pipeline-s, scan-s, allocations of each phase, the
// table's size as 8-byte values and the process's peak RSS during both.
func BenchmarkCompat2M(b *testing.B) {
	path := bigFile(b)
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	var ms runtime.MemStats
	var pipe, scan time.Duration
	var pipeAllocs, scanAllocs uint64
	var cells int64
	debug.FreeOSMemory()
	resetPeakRSS()
	b.Logf("RSS before: %d MiB", peakRSS()>>20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		t0 := time.Now()
		res, err := e.Compat(ctx, path, CompatOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Skip != nil {
			b.Fatal(res.Skip)
		}
		pipe += time.Since(t0)
		runtime.ReadMemStats(&ms)
		m1 := ms.Mallocs
		if i == 0 {
			b.Logf("peak RSS after the pipeline: %d MiB (Go heap in use %d MiB)", peakRSS()>>20, ms.HeapInuse>>20)
		}
		t1 := time.Now()
		var n int64
		err = e.ScanRows(ctx, func(row []any) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		scan += time.Since(t1)
		runtime.ReadMemStats(&ms)
		pipeAllocs += m1 - m0
		scanAllocs += ms.Mallocs - m1
		if n != res.Rows {
			b.Fatalf("scanned %d rows, result has %d", n, res.Rows)
		}
		cells = n * int64(len(res.Columns))
		if i == 0 {
			b.Logf("%d rows x %d columns, metrics ETS %v TTS %v", res.Rows, len(res.Columns), *res.Metrics.EnergyToSolutionJ, *res.Metrics.TimeToSolutionS)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(pipe.Seconds()/n, "pipeline-s")
	b.ReportMetric(scan.Seconds()/n, "scan-s")
	b.ReportMetric(float64(pipeAllocs)/n, "pipeline-allocs")
	b.ReportMetric(float64(scanAllocs)/n, "scan-allocs")
	b.ReportMetric(float64(cells*8)/(1<<20), "table8-MiB")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS-MiB")
}

// BenchmarkWriteCSV2M measures the CSV output of the 2M-row table.
func BenchmarkWriteCSV2M(b *testing.B) {
	path := bigFile(b)
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Compat(context.Background(), path, CompatOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var w countWriter
		if err := e.WriteCSV(context.Background(), &w); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(w))
	}
}

type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

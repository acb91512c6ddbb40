package compat

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/engine/internal/enginetest"
)

// BenchmarkCompat2M measures the pipeline (HDF5 to the finished table,
// metrics included) and the scan of the result, on the 2M-row
// file. Figures: pipeline-s, scan-s, allocations of each phase, the
// table's size as 8-byte values and the process's peak RSS during both.
func BenchmarkCompat2M(b *testing.B) {
	path := enginetest.BigFile(b)
	e := openEngine(b, engine.Options{})
	ctx := context.Background()
	var ms runtime.MemStats
	var pipe, scan time.Duration
	var pipeAllocs, scanAllocs uint64
	var cells int64
	debug.FreeOSMemory()
	enginetest.ResetPeakRSS()
	b.Logf("RSS before: %d MiB", enginetest.PeakRSS()>>20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		t0 := time.Now()
		res, err := e.Compat(ctx, path, Options{})
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
			b.Logf("peak RSS after the pipeline: %d MiB (Go heap in use %d MiB)", enginetest.PeakRSS()>>20, ms.HeapInuse>>20)
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
	b.ReportMetric(float64(enginetest.PeakRSS())/(1<<20), "peakRSS-MiB")
}

// BenchmarkWriteCSV2M measures the CSV output of the 2M-row table.
func BenchmarkWriteCSV2M(b *testing.B) {
	path := enginetest.BigFile(b)
	e := openEngine(b, engine.Options{})
	if _, err := e.Compat(context.Background(), path, Options{}); err != nil {
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

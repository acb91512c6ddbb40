package corrected

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/engine/internal/enginetest"
)

// BenchmarkCorrected2M measures corrected mode on the file of
// BenchmarkCompat2M (2,000,000 NodePower samples at 1 s, 4 tasks every
// 30 s): the pipeline (HDF5 to the finished table and the summary) and a
// scan of the table.
func BenchmarkCorrected2M(b *testing.B) {
	path := enginetest.BigFile(b)
	e := openEngine(b, engine.Options{})
	ctx := context.Background()
	var ms runtime.MemStats
	var pipe, scan time.Duration
	var pipeAllocs uint64
	debug.FreeOSMemory()
	enginetest.ResetPeakRSS()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		t0 := time.Now()
		res, sum, err := e.Corrected(ctx, path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Skip != nil {
			b.Fatal(res.Skip)
		}
		pipe += time.Since(t0)
		runtime.ReadMemStats(&ms)
		pipeAllocs += ms.Mallocs - m0
		if i == 0 {
			b.Logf("peak RSS after the pipeline: %d MiB (Go heap in use %d MiB)", enginetest.PeakRSS()>>20, ms.HeapInuse>>20)
			b.Logf("%d rows x %d columns, energy %v J, TTS %v s, peak %v W", res.Rows, len(res.Columns),
				*sum.EnergyToSolutionJ, *sum.TimeToSolutionS, *sum.PeakPowerW)
		}
		t1 := time.Now()
		var n int64
		if err := e.ScanRows(ctx, func([]any) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		scan += time.Since(t1)
		if n != res.Rows {
			b.Fatalf("scanned %d rows, result has %d", n, res.Rows)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(pipe.Seconds()/n, "pipeline-s")
	b.ReportMetric(scan.Seconds()/n, "scan-s")
	b.ReportMetric(float64(pipeAllocs)/n, "pipeline-allocs")
	b.ReportMetric(float64(enginetest.PeakRSS())/(1<<20), "peakRSS-MiB")
}

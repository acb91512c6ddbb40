// Package enginetest holds what the tests and benchmarks of the analysis
// engine and its pipelines share: the 2M-row benchmark file, the process's
// peak RSS, an engine for a test, and a diff of two texts.
package enginetest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5/gen"

	"github.com/benchwrap/backend/testkit/testenv"
)

var (
	bigOnce sync.Once
	bigPath string
	bigErr  error
)

// BigFile writes, once per test binary, a single-node node-step file with
// 2,000,000 NodePower samples at 1 s and 4 tasks sampled every 30 s.
// BENCH_FILE names such a file written before (h5gen -rows 2000000
// -tasks-per-node 4) instead: generating it takes minutes on a busy host.
func BigFile(b testing.TB) string {
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

// PeakRSS returns the process's peak resident set (VmHWM) in bytes, and
// ResetPeakRSS starts a new measurement (Linux).
func PeakRSS() int64 {
	n, _ := testenv.ProcStatusBytes(0, "VmHWM")
	return n
}

func ResetPeakRSS() { testenv.ResetPeakRSS() }

// FirstDiff shows the first differing line of two texts.
func FirstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + g[i] + "\n want " + w[i]
		}
	}
	return "lengths " + strconv.Itoa(len(g)) + " and " + strconv.Itoa(len(w)) + " lines"
}

// TestOptions are the engine options of the tests.
var TestOptions = engine.Options{}

// Open opens an engine for a test; it is closed when the test ends.
func Open(t testing.TB, opt engine.Options) *engine.Engine {
	t.Helper()
	e := engine.New(opt)
	t.Cleanup(func() { e.Close() })
	return e
}

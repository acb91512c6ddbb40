package localstack

import (
	"os"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/testenv"
)

// TestBombIsSkipped: an upload of a few KB whose energy dataset declares
// 4 GiB once decompressed is recorded as too_large without being read:
// this process, which runs the analyze function, grows its peak RSS by
// less than 300 MB, and the next upload is analysed normally.
func TestBombIsSkipped(t *testing.T) {
	s := testStack(t)
	_, access := newUser(t, s, "bo")
	spec := gen.Default()
	spec.Series, spec.Bomb = gen.ParseSeries("all"), 4<<30
	bomb := generated(t, spec)
	if len(bomb) > 2<<20 {
		t.Fatalf("the bomb is %d bytes, want under 2 MB", len(bomb))
	}
	testenv.ResetPeakRSS()
	before := vmHWM(t)
	key := upload(t, s, access, "bomb.h5", bomb)
	if r := waitRuns(t, key, 1, 60*time.Second)[0]; r.Status != "skipped" || r.SkipClass != "too_large" {
		t.Fatalf("bomb: %+v", r)
	}
	if grew := vmHWM(t) - before; before > 0 && grew > 300<<20 {
		t.Errorf("peak RSS grew by %d MB on a refused bomb", grew>>20)
	}
	good := upload(t, s, access, "after.h5", fixture(t, "12352_0_multi_root.h5"))
	if r := waitRuns(t, good, 1, 60*time.Second)[0]; r.Status != "done" {
		t.Fatalf("file after the bomb: %+v", r)
	}
}

// vmHWM is this process's peak resident set in bytes (Linux; 0 elsewhere).
func vmHWM(t *testing.T) int64 {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		return 0
	}
	n, err := testenv.ProcStatusBytes(0, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

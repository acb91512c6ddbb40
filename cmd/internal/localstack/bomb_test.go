package localstack

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/testkit/testenv"
)

// TestBombIsSkipped: an upload of a few KB whose energy dataset declares
// 4 GiB once decompressed is recorded as too_large without being read, one
// whose chunk inflates to 768 MiB beyond what it declares as too_large when
// the read reaches it:
// this process, which runs the analyze function, grows its peak RSS by
// less than 300 MB, and the next upload is analysed normally.
func TestBombIsSkipped(t *testing.T) {
	s := testStack(t)
	_, access := newUser(t, s, "bo")
	// Two bombs: one declares 4 GiB; the other declares its rows only and
	// its first chunk inflates to 768 MiB (stopped while it is read).
	for i, bombSpec := range []func(*gen.Spec){
		func(s *gen.Spec) { s.Bomb = 4 << 30 },
		func(s *gen.Spec) { s.Inflate = 768 << 20 }, // ~0.8 MB: under MAX_UPLOAD_BYTES
	} {
		spec := gen.Default()
		spec.Series = gen.ParseSeries("all")
		bombSpec(&spec)
		bomb := generated(t, spec)
		if len(bomb) > 2<<20 {
			t.Fatalf("bomb %d is %d bytes, want under 2 MB", i, len(bomb))
		}
		testenv.ResetPeakRSS()
		before := vmHWM(t)
		key := upload(t, s, access, fmt.Sprintf("bomb%d.h5", i), bomb)
		if r := waitRuns(t, key, 1, 60*time.Second)[0]; r.Status != "skipped" || r.SkipClass != "too_large" {
			t.Fatalf("bomb %d: %+v", i, r)
		}
		if grew := vmHWM(t) - before; before > 0 && grew > 300<<20 {
			t.Errorf("peak RSS grew by %d MB on refused bomb %d", grew>>20, i)
		}
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

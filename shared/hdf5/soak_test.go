package hdf5_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5"
)

// TestMutationSoak is a crash hunt outside the Go fuzzer (whose coverage
// guidance cannot see inside libhdf5): it mutates the test files in place
// (bit flips, interesting values, short overwrites; the length is kept so
// the superblock check passes) and reads them. The current input is kept in
// $HDF5_SOAK_DIR/cur.h5 so that a crash leaves it behind. Enabled by
// HDF5_SOAK=<seconds>.
func TestMutationSoak(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("HDF5_SOAK"))
	if secs <= 0 {
		t.Skip("set HDF5_SOAK=<seconds>")
	}
	dir := os.Getenv("HDF5_SOAK_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	var seeds [][]byte
	paths, _ := filepath.Glob("testdata/fixtures/*.h5")
	more, _ := filepath.Glob("testdata/*.h5")
	for _, p := range append(paths, more...) {
		b, _ := os.ReadFile(p)
		if len(b) > 1000 {
			seeds = append(seeds, b)
		}
	}
	seed, _ := strconv.ParseUint(os.Getenv("HDF5_SOAK_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 7))
	cur := filepath.Join(dir, "cur.h5")
	interesting := []uint64{0, 1, 0x7f, 0xff, 0x100, 0xffff, 0x7fffffff, 0xffffffff, 1 << 32, 1<<63 - 1, 1 << 63, ^uint64(0)}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	n, opened := 0, 0
	opt := hdf5.Options{MaxRows: 1 << 20, MaxBytes: 64 << 20, MaxColumns: 256, MaxChunkBytes: 8 << 20, MaxObjects: 2000, MaxDepth: 16}
	for time.Now().Before(deadline) {
		b := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for m := 1 + rng.IntN(8); m > 0; m-- {
			i := 8 + rng.IntN(len(b)-8) // keep the signature
			switch rng.IntN(4) {
			case 0:
				b[i] ^= 1 << rng.IntN(8)
			case 1:
				b[i] = byte(rng.Uint32())
			case 2:
				v := interesting[rng.IntN(len(interesting))]
				for k := 0; k < 8 && i+k < len(b); k++ {
					b[i+k] = byte(v >> (8 * k))
				}
			case 3:
				j := 8 + rng.IntN(len(b)-8)
				l := rng.IntN(32)
				if i+l <= len(b) && j+l <= len(b) {
					copy(b[i:i+l], b[j:j+l])
				}
			}
		}
		if err := os.WriteFile(cur, b, 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r, err := hdf5.Open(cur, opt)
		if err == nil {
			opened++
			r.LoadAll()
			r.Close()
		}
		if d := time.Since(start); d > 2*time.Second {
			slow := filepath.Join(dir, fmt.Sprintf("slow-%d.h5", n))
			os.WriteFile(slow, b, 0o600)
			t.Logf("input %d took %v (saved %s)", n, d, slow)
		}
		n++
	}
	t.Logf("%d inputs, %d opened by libhdf5", n, opened)
}

// TestReadGiven reads the file named by HDF5_READ (for crash triage).
func TestReadGiven(t *testing.T) {
	p := os.Getenv("HDF5_READ")
	if p == "" {
		t.Skip("set HDF5_READ=<file>")
	}
	f, err := hdf5.ReadFile(p, hdf5.Options{MaxRows: 1 << 20, MaxBytes: 64 << 20, MaxColumns: 256, MaxChunkBytes: 8 << 20, MaxObjects: 2000, MaxDepth: 16})
	t.Logf("err=%v problems=%q", err, f.Problems())
}

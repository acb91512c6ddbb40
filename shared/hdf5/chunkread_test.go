package hdf5_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/profile"
)

// readBoth reads a file with the direct chunk read on, then with libhdf5
// alone, and returns both trees (nil with the error when the file fails)
// and how many datasets the direct read took.
func readBoth(t *testing.T, path string) (direct, lib *profile.File, errD, errL error, took int64) {
	t.Helper()
	before := hdf5.SetDirect(true)
	direct, errD = hdf5.ReadFile(path, hdf5.Options{})
	took = hdf5.SetDirect(false) - before
	lib, errL = hdf5.ReadFile(path, hdf5.Options{})
	hdf5.SetDirect(true)
	return direct, lib, errD, errL, took
}

// sameRead fails the test unless both reads of a file gave the same
// datasets, errors and values.
func sameRead(t *testing.T, name string, a, b *profile.File, errA, errB error) {
	t.Helper()
	if (errA == nil) != (errB == nil) {
		t.Fatalf("%s: direct read error %v, libhdf5 %v", name, errA, errB)
	}
	if a == nil || b == nil {
		return
	}
	da, db := a.Datasets(), b.Datasets()
	if len(da) != len(db) {
		t.Fatalf("%s: %d datasets, libhdf5 %d", name, len(da), len(db))
	}
	for i := range da {
		x, y := da[i], db[i]
		if x.Path() != y.Path() || x.Rows != y.Rows || (x.Err == nil) != (y.Err == nil) || len(x.Columns) != len(y.Columns) {
			t.Fatalf("%s: %s: rows %d err %v; libhdf5 %s rows %d err %v", name, x.Path(), x.Rows, x.Err, y.Path(), y.Rows, y.Err)
		}
		if x.Err != nil && x.Err.Class != y.Err.Class {
			t.Fatalf("%s: %s: error %v, libhdf5 %v", name, x.Path(), x.Err, y.Err)
		}
		for j := range x.Columns {
			if !equalColumn(&x.Columns[j], &y.Columns[j]) {
				t.Fatalf("%s: %s: column %s differs from libhdf5's", name, x.Path(), x.Columns[j].Name)
			}
		}
	}
}

// TestDirectReadEqualsLibhdf5: every test file, Slurm's real files and
// generated shapes read the same with the direct chunk read as with
// libhdf5 alone, and the direct read takes the Slurm layouts.
func TestDirectReadEqualsLibhdf5(t *testing.T) {
	defer hdf5.SetParallelRows(1)() // every index of several leaves read by two goroutines
	files, _ := filepath.Glob("testdata/fixtures/*.h5")
	more, _ := filepath.Glob("testdata/*.h5")
	files = append(files, more...)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		edit func(*gen.Spec)
	}{
		{"plain", func(s *gen.Spec) {}},
		{"jitter-dups-gaps", func(s *gen.Spec) { s.Jitter, s.Dups, s.Gaps = 1.5, 0.1, 0.05 }},
		{"odd-rows-all-series", func(s *gen.Spec) {
			s.Rows = 1237
			s.Series = []string{gen.SeriesEnergy, gen.SeriesTask, gen.SeriesFilesystem, gen.SeriesNetwork}
		}},
		{"gpu-fractional", func(s *gen.Spec) { s.Energy, s.GPUs, s.Fractional = gen.EnergyGPU, 2, true }},
		{"merged-4-nodes", func(s *gen.Spec) { s.Layout, s.Nodes, s.Steps = gen.Merged, 4, 2 }},
		{"two-level-index", func(s *gen.Spec) { s.Rows = 20_000 }},
	} {
		s := gen.Default()
		c.edit(&s)
		out, err := gen.Write(filepath.Join(dir, c.name), s)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		files = append(files, out...)
	}
	var took int64
	for _, p := range files {
		a, b, errA, errB, n := readBoth(t, p)
		sameRead(t, p, a, b, errA, errB)
		took += n
		if filepath.Base(filepath.Dir(p)) == "two-level-index" && n == 0 {
			t.Errorf("%s: the direct read was not used", p)
		}
	}
	if took < int64(len(files)) {
		t.Errorf("the direct read took %d datasets of %d files", took, len(files))
	}
}

// TestDirectReadGivesUp: a chunk index or chunk the direct read does not
// trust (a chunk whose stream fails its checksum, a chunk indexed twice,
// a chunk missing, a chunk of the wrong size) is read by libhdf5, with
// the same outcome as libhdf5 alone; random damage to the chunks and their
// index never makes the two differ.
func TestDirectReadGivesUp(t *testing.T) {
	defer hdf5.SetParallelRows(1)()
	s := gen.Default()
	s.Rows, s.Series = 2000, []string{gen.SeriesEnergy}
	dir := t.TempDir()
	out, err := gen.Write(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(out[0])
	if err != nil {
		t.Fatal(err)
	}
	leaves := chunkLeaves(orig)
	if len(leaves) < 2 {
		t.Fatalf("%d chunk index leaves", len(leaves))
	}
	// Offsets in a leaf (8-byte addresses): header 24 bytes, then key
	// (size u32, mask u32, row u64, elem u64) and child address.
	const head, key, entry = 24, 24, 32
	first := leaves[0]
	chunkAddr := binary.LittleEndian.Uint64(orig[first+head+key:])
	edits := []struct {
		name string
		edit func(b []byte)
		lost bool // the direct read must give up
	}{
		{"checksum", func(b []byte) { b[chunkAddr+20] ^= 0x40 }, true},
		{"indexed-twice", func(b []byte) { // entry 1 gets entry 0's row
			copy(b[first+head+entry+8:first+head+entry+16], b[first+head+8:first+head+16])
		}, true},
		{"row-outside", func(b []byte) { binary.LittleEndian.PutUint64(b[first+head+8:], 1<<40) }, true},
		{"size", func(b []byte) { binary.LittleEndian.PutUint32(b[first+head:], 5) }, true},
		{"size-beyond-file", func(b []byte) { binary.LittleEndian.PutUint32(b[first+head:], 0xfffffff0) }, true},
		{"address", func(b []byte) { binary.LittleEndian.PutUint64(b[first+head+key:], uint64(len(b))) }, true},
		{"mask", func(b []byte) { binary.LittleEndian.PutUint32(b[first+head+4:], 2) }, true},
	}
	r := rand.New(rand.NewPCG(7, 13))
	for i := 0; i < 120; i++ {
		// Random bytes of a leaf's entries or of the chunks it indexes.
		leaf := leaves[r.IntN(len(leaves))]
		n := int(binary.LittleEndian.Uint16(orig[leaf+6:]))
		lo, hi := leaf+head, leaf+head+n*entry+key
		if r.IntN(2) == 0 {
			lo = int(binary.LittleEndian.Uint64(orig[leaf+head+key:]))
			hi = lo + n*240
		}
		at, v := lo+r.IntN(hi-lo), byte(r.Uint32())
		edits = append(edits, struct {
			name string
			edit func(b []byte)
			lost bool
		}{"random", func(b []byte) { b[at] = v }, false})
	}
	kept := 0
	for i, e := range edits {
		b := bytes.Clone(orig)
		e.edit(b)
		p := filepath.Join(dir, "edited.h5")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		a, l, errA, errL, took := readBoth(t, p)
		sameRead(t, e.name, a, l, errA, errL)
		if e.lost && took != 0 {
			t.Errorf("edit %d (%s): the direct read did not give up", i, e.name)
		}
		if took != 0 {
			kept++
		}
	}
	t.Logf("%d of %d edited files read directly, the others by libhdf5", kept, len(edits))
}

// chunkLeaves returns the offsets of the leaves of version 1 B-trees of
// raw data chunks in an HDF5 file's bytes.
func chunkLeaves(b []byte) []int {
	var out []int
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("TREE\x01\x00"))
		if j < 0 {
			return out
		}
		out = append(out, i+j)
		i += j + 6
	}
}

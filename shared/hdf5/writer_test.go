package hdf5_test

import (
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// allKinds has one column of every storable type with extreme values.
func allKinds(rows int) []profile.Column {
	u := func(name string, size int, max uint64) profile.Column {
		c := profile.Column{Name: name, Kind: profile.Uint, Size: size, U: make([]uint64, rows)}
		for i := range c.U {
			c.U[i] = max - uint64(i)%max
		}
		c.U[0], c.U[rows-1] = 0, max
		return c
	}
	s := func(name string, size int, lo, hi int64) profile.Column {
		c := profile.Column{Name: name, Kind: profile.Int, Size: size, I: make([]int64, rows)}
		for i := range c.I {
			c.I[i] = (int64(i) - int64(rows)/2) % 100
		}
		c.I[0], c.I[rows-1] = lo, hi
		return c
	}
	f := func(name string, size int) profile.Column {
		c := profile.Column{Name: name, Kind: profile.Float, Size: size, F: make([]float64, rows)}
		for i := range c.F {
			c.F[i] = float64(i) * 0.25
		}
		c.F[0], c.F[1], c.F[2], c.F[3] = math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)
		if size == 8 {
			c.F[4] = math.MaxFloat64
			c.F[5] = math.SmallestNonzeroFloat64
		} else {
			c.F[4] = math.MaxFloat32
		}
		return c
	}
	return []profile.Column{
		u("ElapsedTime", 8, math.MaxUint64), u("EpochTime", 8, 1<<40),
		u("u8", 1, math.MaxUint8), s("i8", 1, math.MinInt8, math.MaxInt8),
		u("u16", 2, math.MaxUint16), s("i16", 2, math.MinInt16, math.MaxInt16),
		f("f32", 4),
		u("u32", 4, math.MaxUint32), s("i32", 4, math.MinInt32, math.MaxInt32),
		s("i64", 8, math.MinInt64, math.MaxInt64), f("f64", 8),
	}
}

func treeWith(datasets ...*profile.Dataset) *profile.Group {
	g := &profile.Group{Name: "node01", Parts: []string{"node01"}}
	for _, d := range datasets {
		d.Parts = []string{"node01", d.Name}
		g.Items = append(g.Items, profile.Item{Dataset: d})
	}
	return &profile.Group{Items: []profile.Item{{Group: g}}}
}

// TestWriteReadLayouts writes every numeric type packed and aligned, little
// and big endian, chunked or contiguous, and reads back the same values.
func TestWriteReadLayouts(t *testing.T) {
	opts := []struct {
		name string
		opt  hdf5.WriteOptions
	}{
		{"slurm", hdf5.WriteOptions{}},
		{"aligned", hdf5.WriteOptions{Aligned: true}},
		{"big-endian", hdf5.WriteOptions{BigEndian: true}},
		{"aligned-big-endian-chunk7", hdf5.WriteOptions{Aligned: true, BigEndian: true, ChunkRows: 7}},
		{"contiguous", hdf5.WriteOptions{ChunkRows: -1}},
		{"no-filter", hdf5.WriteOptions{Deflate: -1}},
		{"deflate6", hdf5.WriteOptions{Deflate: 6}},
	}
	for _, o := range opts {
		t.Run(o.name, func(t *testing.T) {
			cols := allKinds(1237)
			single := profile.Column{Name: "value", Kind: profile.Float, Size: 4, F: []float64{1.5, math.NaN(), math.Inf(-1)}}
			nd := []profile.Column{
				{Name: "col_0", Kind: profile.Int, Size: 2, I: []int64{1, -4, 7}},
				{Name: "col_1", Kind: profile.Int, Size: 2, I: []int64{2, -5, 8}},
				{Name: "col_2", Kind: profile.Int, Size: 2, I: []int64{3, -6, 9}},
			}
			tree := treeWith(
				&profile.Dataset{Name: "All", Compound: true, Columns: cols},
				&profile.Dataset{Name: "empty", Compound: true, Columns: []profile.Column{{Name: "ElapsedTime", Kind: profile.Uint, U: []uint64{}}}},
				&profile.Dataset{Name: "series", Columns: []profile.Column{single}},
				&profile.Dataset{Name: "matrix", Shape: []uint64{3, 3}, Columns: nd},
				&profile.Dataset{Name: "scalar", Scalar: true, Columns: []profile.Column{{Name: "value", Kind: profile.Uint, Size: 2, U: []uint64{65535}}}},
			)
			path := filepath.Join(t.TempDir(), "layout.h5")
			if err := hdf5.WriteFile(path, tree, o.opt); err != nil {
				t.Fatal(err)
			}
			f := mustRead(t, path, hdf5.Options{})
			all := mustDataset(t, f, "/node01/All")
			if all.Err != nil || all.Rows != 1237 {
				t.Fatalf("All: %v rows %d", all.Err, all.Rows)
			}
			wantEndian := "le"
			if o.opt.BigEndian {
				wantEndian = "be"
			}
			if !strings.Contains(all.Type, "u64"+wantEndian) {
				t.Errorf("type %s", all.Type)
			}
			for j := range cols {
				if !equalColumn(&cols[j], &all.Columns[j]) {
					t.Errorf("column %s differs", cols[j].Name)
				}
			}
			if e := mustDataset(t, f, "/node01/empty"); e.Err != nil || e.Rows != 0 || e.Shape[0] != 0 {
				t.Errorf("empty: %v", e.Err)
			}
			s := mustDataset(t, f, "/node01/series")
			if !equalColumn(&single, &s.Columns[0]) {
				t.Errorf("series %v", s.Columns[0].F)
			}
			m := mustDataset(t, f, "/node01/matrix")
			for j := range nd {
				if !equalColumn(&nd[j], &m.Columns[j]) {
					t.Errorf("matrix %s %v", nd[j].Name, m.Columns[j].I)
				}
			}
			if sc := mustDataset(t, f, "/node01/scalar"); !sc.Scalar || sc.Columns[0].U[0] != 65535 || sc.Columns[0].Size != 2 {
				t.Errorf("scalar %+v", sc)
			}
		})
	}
}

func TestWriterRejects(t *testing.T) {
	dir := t.TempDir()
	bad := []*profile.Dataset{
		{Name: "overflow", Compound: true, Columns: []profile.Column{{Name: "a", Kind: profile.Uint, Size: 1, U: []uint64{256}}}},
		{Name: "ragged", Compound: true, Columns: []profile.Column{{Name: "a", Kind: profile.Uint, U: []uint64{1}}, {Name: "b", Kind: profile.Uint, U: nil}}},
		{Name: "nocols", Compound: true},
		{Name: "f16", Compound: true, Columns: []profile.Column{{Name: "a", Kind: profile.Float, Size: 2, F: []float64{1}}}},
		{Name: "shape", Shape: []uint64{1, 2}, Columns: []profile.Column{{Name: "col_0", Kind: profile.Uint, U: []uint64{1}}}},
	}
	for _, d := range bad {
		if err := hdf5.WriteFile(filepath.Join(dir, d.Name+".h5"), treeWith(d), hdf5.WriteOptions{}); err == nil {
			t.Errorf("%s: written", d.Name)
		}
	}
	if err := hdf5.WriteFile(filepath.Join(dir, "missing-dir", "x.h5"), treeWith(), hdf5.WriteOptions{}); err == nil {
		t.Error("wrote into a missing directory")
	} else if !strings.Contains(err.Error(), "create") {
		t.Errorf("error lacks context: %v", err)
	}
}

func slurmNode() hdf5.SlurmNode {
	cols := func(names ...string) []profile.Column {
		var out []profile.Column
		for i, n := range names {
			c := profile.Column{Name: n, Kind: profile.Uint, Size: 8, U: []uint64{0, 0, 2, uint64(i)}}
			if strings.HasSuffix(n, "MB") {
				c = profile.Column{Name: n, Kind: profile.Float, Size: 8, F: []float64{0, 0.5, 1.5, 2}}
			}
			out = append(out, c)
		}
		return out
	}
	return hdf5.SlurmNode{
		Name: "c0107", Index: 0, CPUsPerTask: 192,
		StartTime: time.Date(2025, 7, 8, 14, 43, 29, 0, time.UTC),
		Energy:    cols("ElapsedTime", "EpochTime", "NodePower"),
		Network:   cols("ElapsedTime", "EpochTime", "PacketsIn", "PacketsOut", "InMB", "OutMB"),
		Tasks: []hdf5.SlurmTask{
			{ID: 10, Columns: cols("ElapsedTime", "EpochTime", "CPUFrequency", "ReadMB")},
			{ID: 2, Columns: cols("ElapsedTime", "EpochTime", "CPUFrequency", "ReadMB")},
		},
	}
}

// TestSlurmLayout checks the physical layout with h5dump: v0 superblock,
// chunk 10, deflate level 0, unlimited maxdims, packed LE u64/f64 members,
// 1-element int32 and NULLTERM string attributes of size strlen.
func TestSlurmLayout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, hdf5.NodeStepFileName(9646276, "batch", "c0107"))
	if filepath.Base(path) != "9646276_batch_c0107.h5" {
		t.Fatal(path)
	}
	if err := hdf5.WriteNodeStep(path, slurmNode()); err != nil {
		t.Fatal(err)
	}
	f := mustRead(t, path, hdf5.Options{})
	order := strings.Join(walkOrder(f.Root), " ")
	if order != "/c0107 /c0107/Energy /c0107/Network /c0107/Tasks /c0107/Tasks/10 /c0107/Tasks/2" {
		t.Errorf("order %s", order)
	}
	it, _ := f.Lookup("/c0107")
	if v, _ := it.Group.AttrString("Start Time"); v != "Tue Jul 08 14:43:29 2025" {
		t.Errorf("start %q", v)
	}
	if v, _ := it.Group.AttrInt("Number of Tasks"); v != 2 {
		t.Errorf("tasks %d", v)
	}
	if _, err := exec.LookPath("h5dump"); err != nil {
		t.Skip("h5dump not installed")
	}
	out, err := exec.Command("h5dump", "-B", "-p", "-A", path).CombinedOutput()
	if err != nil {
		t.Fatalf("h5dump: %v\n%s", err, out)
	}
	dump := string(out)
	for _, want := range []string{
		"SUPERBLOCK_VERSION 0",
		"OBJECTHEADER_VERSION 0",
		"DATASPACE  SIMPLE { ( 4 ) / ( H5S_UNLIMITED ) }",
		"CHUNKED ( 10 )",
		"COMPRESSION DEFLATE { LEVEL 0 }",
		"H5T_STD_U64LE \"ElapsedTime\";",
		"H5T_IEEE_F64LE \"InMB\";",
		"STRSIZE 5;",
		"STRSIZE 24;",
		"STRPAD H5T_STR_NULLTERM;",
		"DATATYPE  H5T_STD_I32LE",
		"DATASPACE  SIMPLE { ( 1 ) / ( 1 ) }",
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("h5dump lacks %q", want)
		}
	}
	if strings.Count(dump, "CHUNKED ( 10 )") != 4 || strings.Count(dump, "DEFLATE { LEVEL 0 }") != 4 {
		t.Errorf("not every dataset is a Slurm packet table")
	}
	if strings.Contains(dump, "H5T_COMPOUND {\n            H5T_STD_U64LE \"ElapsedTime\";\n            H5T_STD_U64LE \"EpochTime\";\n            H5T_STD_U64LE \"NodePower\";\n         }") == false {
		t.Errorf("Energy compound differs:\n%s", dump)
	}
	// Packed: the Energy element is 24 bytes (h5dump -p shows no padding;
	// check through the reader's description instead).
	if e := mustDataset(t, f, "/c0107/Energy"); e.Type != "compound{ElapsedTime:u64le,EpochTime:u64le,NodePower:u64le}" {
		t.Errorf("type %s", e.Type)
	}
}

func TestMergedLayout(t *testing.T) {
	n1, n2 := slurmNode(), slurmNode()
	n1.Name, n2.Name, n2.Index = "node01", "node02", 1
	steps := []hdf5.SlurmStep{
		{Name: "1", Nodes: []hdf5.SlurmNode{n1, n2}},
		{Name: "batch", Nodes: []hdf5.SlurmNode{n1}},
		{Name: "0", Nodes: []hdf5.SlurmNode{n2, n1}},
	}
	path := filepath.Join(t.TempDir(), "job_1.h5")
	if err := hdf5.WriteMerged(path, steps); err != nil {
		t.Fatal(err)
	}
	f := mustRead(t, path, hdf5.Options{})
	if v, _ := f.Root.AttrInt("Number of Steps"); v != 3 {
		t.Errorf("Number of Steps %d", v)
	}
	// Merge order is batch, 0, 1: the last merged (1) has no "Number of Nodes".
	for step, want := range map[string]int64{"batch": 1, "0": 2, "1": -1} {
		it, ok := f.Lookup("/Steps/" + step)
		if !ok {
			t.Fatalf("step %s missing", step)
		}
		v, ok := it.Group.AttrInt("Number of Nodes")
		if (want < 0) == ok || (ok && v != want) {
			t.Errorf("step %s: Number of Nodes %d %v", step, v, ok)
		}
	}
	if ds := f.Datasets()[0]; ds.Path() != "/Steps/0/Nodes/node01/Energy" || ds.Prefix() != "0__Nodes__node01__Energy" {
		t.Errorf("first dataset %s", ds.Path())
	}
	if got := hdf5.MergeOrder("batch"); got != -2 {
		t.Errorf("batch order %d", got)
	}
}

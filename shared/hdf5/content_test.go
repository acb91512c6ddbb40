package hdf5_test

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

func mustRead(t *testing.T, path string, opt hdf5.Options) *profile.File {
	t.Helper()
	f, err := hdf5.ReadFile(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustDataset(t *testing.T, f *profile.File, path string) *profile.Dataset {
	t.Helper()
	it, ok := f.Lookup(path)
	if !ok || it.Dataset == nil {
		t.Fatalf("%s: no dataset", path)
	}
	return it.Dataset
}

func hasNote(notes []string, sub string) bool {
	for _, n := range notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

// TestGenericNaming checks the original pipeline's naming of non-compound
// content and the column prefixes.
func TestGenericNaming(t *testing.T) {
	f := mustRead(t, "testdata/fixtures/generic_datasets.h5", hdf5.Options{})
	cases := []struct {
		path, prefix string
		rows         int
		cols         []string
	}{
		{"/node01/series_1d", "series_1d", 8, []string{"value"}},
		{"/node01/matrix_2d", "matrix_2d", 5, []string{"col_0", "col_1", "col_2"}},
		{"/node01/scalar_const", "scalar_const", 1, []string{"value"}},
		{"/node01/Energy", "Energy", 12, []string{"ElapsedTime", "EpochTime", "NodePower"}},
		{"/node01/zero_power_no_time", "zero_power_no_time", 4, []string{"NodePower", "Temp"}},
		{"/a_empty_group/nothing", "nothing", 0, []string{"value"}},
		{"/z_root_dataset", "z_root_dataset", 5, []string{"value"}},
	}
	for _, c := range cases {
		ds := mustDataset(t, f, c.path)
		if ds.Prefix() != c.prefix || ds.Rows != c.rows || len(ds.Columns) != len(c.cols) {
			t.Errorf("%s: prefix %q rows %d cols %d", c.path, ds.Prefix(), ds.Rows, len(ds.Columns))
			continue
		}
		for i, name := range c.cols {
			if ds.Columns[i].Name != name || ds.Fields[i].Name != name {
				t.Errorf("%s: column %d = %q, want %q", c.path, i, ds.Columns[i].Name, name)
			}
		}
	}
	m := mustDataset(t, f, "/node01/matrix_2d")
	if m.Columns[2].Kind != profile.Int || m.Columns[2].Size != 4 {
		t.Errorf("matrix kind %v%d", m.Columns[2].Kind, m.Columns[2].Size)
	}
	if s := mustDataset(t, f, "/node01/scalar_const"); !s.Scalar || s.Shape != nil || s.DeclaredRows() != 1 || s.Columns[0].F[0] != 42.5 {
		t.Errorf("scalar: %+v", s)
	}
	// Row-major split of an N-D dataset: cube[2][3][4] -> col_k of row r = r*12+k.
	tf := mustRead(t, "testdata/types.h5", hdf5.Options{})
	cube := mustDataset(t, tf, "/node01/cube")
	if len(cube.Columns) != 12 || cube.Rows != 2 || cube.Columns[7].U[1] != 19 {
		t.Errorf("cube: %d cols, %d rows", len(cube.Columns), cube.Rows)
	}
	sc := mustDataset(t, tf, "/node01/scalar_compound")
	if !sc.Scalar || sc.Rows != 1 || sc.Column("a").U[0] != 5 || sc.Column("b").F[0] != 2.5 {
		t.Errorf("scalar compound: %+v", sc)
	}
}

func TestSlurmAttributes(t *testing.T) {
	f := mustRead(t, "testdata/fixtures/9646276_batch_c0107.h5", hdf5.Options{})
	it, _ := f.Lookup("/c0107")
	g := it.Group
	if v, ok := g.AttrInt("CPUs per Task"); !ok || v != 192 {
		t.Errorf("CPUs per Task = %d %v", v, ok)
	}
	if v, ok := g.AttrString("Node Name"); !ok || v != "c0107" {
		t.Errorf("Node Name = %q", v)
	}
	if v, ok := g.AttrString("Start Time"); !ok || v != "Tue Jul 08 14:43:29 2025" {
		t.Errorf("Start Time = %q", v)
	}
	if a, _ := g.Attr("Node Index"); a.Size != 4 || a.Kind != profile.AttrInt {
		t.Errorf("Node Index %+v", a)
	}
	var names []string
	for _, a := range g.Attrs {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "CPUs per Task,Node Index,Node Name,Number of Tasks,Start Time" {
		t.Errorf("attribute order %q", names)
	}
	m := mustRead(t, "testdata/fixtures/12346_job_merged.h5", hdf5.Options{})
	if v, ok := m.Root.AttrInt("Number of Steps"); !ok || v != 2 {
		t.Errorf("Number of Steps = %d", v)
	}
	if it, _ := m.Lookup("/Steps/batch"); it.Group == nil {
		t.Fatal("no batch step")
	} else if v, ok := it.Group.AttrInt("Number of Nodes"); !ok || v != 1 {
		t.Errorf("Number of Nodes = %d", v)
	}
	if it, _ := m.Lookup("/Steps/0"); len(it.Group.Attrs) != 0 {
		t.Errorf("step 0 attrs %v", it.Group.Attrs)
	}
	// The first dataset in byte order is step "0", node01.
	if ds := m.Datasets()[0]; ds.Prefix() != "0__Nodes__node01__Energy" {
		t.Errorf("first prefix %q", ds.Prefix())
	}
}

// TestNonNumericMembers: strings, arrays, nested compounds and enums are
// skipped with a note; the numeric members (float16 included) are read.
func TestNonNumericMembers(t *testing.T) {
	f := mustRead(t, "testdata/types.h5", hdf5.Options{})
	odd := mustDataset(t, f, "/node01/Odd")
	if odd.Err != nil || len(odd.Columns) != 3 {
		t.Fatalf("Odd: %v %d columns", odd.Err, len(odd.Columns))
	}
	for _, m := range []string{`"Label"`, `"Vec"`, `"Inner"`, `"Flag"`} {
		if !hasNote(odd.Notes, m) {
			t.Errorf("no note for %s: %q", m, odd.Notes)
		}
	}
	half := odd.Column("Half")
	if half.Kind != profile.Float || half.Size != 2 || half.F[0] != 0.5 || !math.IsInf(half.F[2], 1) || half.F[4] != 65504 || !math.IsNaN(half.F[5]) {
		t.Errorf("Half: %+v", half)
	}
	if p := odd.Column("Power"); p.U[5] != 600 {
		t.Errorf("Power %v", p.U)
	}
	for _, path := range []string{"/node01/strings", "/node01/only_strings"} {
		ds := mustDataset(t, f, path)
		if ds.Err == nil || ds.Err.Class != profile.DatasetUnsupported || ds.Loaded {
			t.Errorf("%s: %v", path, ds.Err)
		}
	}
	it, _ := f.Lookup("/node01")
	if !hasNote(it.Group.Notes, `"Blob"`) {
		t.Errorf("opaque attribute not noted: %q", it.Group.Notes)
	}
	if _, ok := it.Group.AttrString("Note"); ok || !hasNote(it.Group.Notes, `"Note" skipped: variable-length string`) {
		t.Errorf("vlen string attribute read by default: %q", it.Group.Notes)
	}
	vf := mustRead(t, "testdata/types.h5", hdf5.Options{VarLenStrings: true})
	vg, _ := vf.Lookup("/node01")
	if v, ok := vg.Group.AttrString("Note"); !ok || v != "variable length" {
		t.Errorf("vlen string attribute %q", v)
	}
	if a, _ := it.Group.Attr("Pair"); a == nil || len(a.Ints) != 2 || a.Ints[1] != -2 {
		t.Errorf("Pair %+v", a)
	}
}

func TestBigEndianAndAligned(t *testing.T) {
	f := mustRead(t, "testdata/types.h5", hdf5.Options{})
	be := mustDataset(t, f, "/node01/BigEndian")
	if !strings.Contains(be.Type, "u64be") {
		t.Errorf("type %s", be.Type)
	}
	if c := be.Column("NodePower"); c.Size != 4 || c.U[0] != 4_000_000_000 {
		t.Errorf("NodePower %+v", c.U[:2])
	}
	if c := be.Column("Temp"); c.Size != 4 || !math.IsNaN(c.F[3]) || !math.IsInf(c.F[4], 1) || !math.IsInf(c.F[5], -1) || c.F[0] != -40 {
		t.Errorf("Temp %v", c.F[:6])
	}
	if c := be.Column("Delta"); c.Kind != profile.Int || c.I[24] != -24000 {
		t.Errorf("Delta %v", c.I)
	}
	al := mustDataset(t, f, "/node01/Aligned")
	if c := al.Column("b_i32"); c.I[0] != math.MinInt32 {
		t.Errorf("b_i32 %v", c.I[:2])
	}
	if c := al.Column("f_i8"); c.I[0] != -128 || c.Size != 1 {
		t.Errorf("f_i8 %v", c.I[:2])
	}
	if c := al.Column("e_f64"); c.F[11] != 1.1e301 {
		t.Errorf("e_f64 %v", c.F[11])
	}
	u := mustDataset(t, f, "/node01/u64_extremes")
	if u.Columns[0].U[3] != math.MaxUint64 {
		t.Errorf("u64 max %v", u.Columns[0].U)
	}
	i := mustDataset(t, f, "/node01/i64_extremes")
	if i.Columns[0].I[0] != math.MinInt64 || i.Columns[0].I[3] != math.MaxInt64 {
		t.Errorf("i64 %v", i.Columns[0].I)
	}
}

// TestHugeDimensionsRefused: datasets declaring 2^60 rows, 2^40 columns or
// an overflowing shape are refused at walk time, without allocating.
func TestHugeDimensionsRefused(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f := mustRead(t, "testdata/hostile.h5", hdf5.Options{})
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
		t.Errorf("reading hostile.h5 allocated %d bytes", d)
	}
	for _, name := range []string{"huge_rows", "huge_compound", "huge_cols", "wide_overflow", "big_chunk"} {
		ds := mustDataset(t, f, "/node01/"+name)
		if ds.Err == nil || ds.Err.Class != profile.DatasetTooLarge || ds.Loaded || ds.Fields != nil {
			t.Errorf("%s: %v", name, ds.Err)
		}
	}
	if ds := mustDataset(t, f, "/node01/huge_rows"); ds.DeclaredRows() != 1<<60 {
		t.Errorf("declared rows %d", ds.DeclaredRows())
	}
	// The limits are options: 1000 rows pass by default, not with MaxRows 999.
	small := mustRead(t, "testdata/hostile.h5", hdf5.Options{MaxRows: 999})
	if ds := mustDataset(t, small, "/node01/rows_1000"); ds.Err == nil || ds.Err.Class != profile.DatasetTooLarge {
		t.Errorf("MaxRows not applied: %v", ds.Err)
	}
	if ds := mustDataset(t, f, "/node01/rows_1000"); ds.Err != nil || ds.Rows != 1000 || ds.Columns[0].U[999] != 999 {
		t.Errorf("rows_1000: %v", ds.Err)
	}
	narrow := mustRead(t, "testdata/types.h5", hdf5.Options{MaxColumns: 5})
	if ds := mustDataset(t, narrow, "/node01/BigEndian"); ds.Err == nil || ds.Err.Class != profile.DatasetTooLarge {
		t.Errorf("MaxColumns not applied: %v", ds.Err)
	}
	tight := mustRead(t, "testdata/hostile.h5", hdf5.Options{MaxBytes: 7999})
	if ds := mustDataset(t, tight, "/node01/rows_1000"); ds.Err == nil || ds.Err.Class != profile.DatasetTooLarge {
		t.Errorf("MaxBytes not applied: %v", ds.Err)
	}
}

// TestLinksAndStorage: soft and external links are not followed, a hard
// link cycle is cut, external raw storage and virtual datasets are refused.
func TestLinksAndStorage(t *testing.T) {
	f := mustRead(t, "testdata/hostile.h5", hdf5.Options{})
	it, _ := f.Lookup("/node01")
	g := it.Group
	for _, want := range []string{`"soft": soft link`, `"dangling": soft link`, `"external": external link not followed`, `"loop": hard link to an enclosing group`} {
		if !hasNote(g.Notes, want) {
			t.Errorf("missing note %q in %q", want, g.Notes)
		}
	}
	if !hasNote(f.Root.Notes, `"named_type": named datatype`) {
		t.Errorf("root notes %q", f.Root.Notes)
	}
	if _, ok := f.Lookup("/node01_again/Energy"); !ok {
		t.Error("second hard link to a group not walked")
	}
	for _, name := range []string{"external_raw", "virtual"} {
		ds := mustDataset(t, f, "/node01/"+name)
		if ds.Err == nil || ds.Err.Class != profile.DatasetUnsupported {
			t.Errorf("%s: %v", name, ds.Err)
		}
	}
	if v, ok := f.Root.AttrInt("Number of Steps"); !ok || v != 1 {
		t.Errorf("root attr %d", v)
	}
	limited := mustRead(t, "testdata/hostile.h5", hdf5.Options{MaxObjects: 5})
	if len(limited.Notes) == 0 || !strings.Contains(limited.Notes[0], "MaxObjects") {
		t.Errorf("walk limit not noted: %q", limited.Notes)
	}
}

// TestCorruptChunk: the damaged Energy dataset fails alone; Tasks/0 is read.
func TestCorruptChunk(t *testing.T) {
	r, err := hdf5.Open("testdata/fixtures/corrupt_chunk.h5", hdf5.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f := r.File()
	e := mustDataset(t, f, "/node01/Energy")
	if len(e.Fields) != 3 || e.Err != nil {
		t.Fatalf("walk: %v %v", e.Fields, e.Err)
	}
	err = r.Load(e)
	de, ok := profile.AsDatasetError(err)
	if !ok || de.Class != profile.DatasetUnreadable || e.Err != de || e.Loaded {
		t.Fatalf("Energy: %v", err)
	}
	var he *hdf5.Error
	if !errorsAs(err, &he) || !strings.Contains(err.Error(), "inflate() failed") || len(he.Stack) == 0 {
		t.Errorf("error lacks HDF5 context: %v", err)
	}
	if r.Load(e) != err {
		t.Error("second load gave a different error")
	}
	tk := mustDataset(t, f, "/node01/Tasks/0")
	if err := r.Load(tk); err != nil || tk.Rows != 8 || len(tk.Columns) != 12 {
		t.Fatalf("Tasks/0: %v rows %d", err, tk.Rows)
	}
	if p := f.Problems(); len(p) != 1 || !strings.HasPrefix(p[0], "/node01/Energy: ") {
		t.Errorf("problems %q", p)
	}
}

// TestLazyLoadAndBudget: the walk loads nothing; MaxBytes bounds what is
// held at once and Release returns it.
func TestLazyLoadAndBudget(t *testing.T) {
	// Energy 300 rows x 3 cols = 7200 bytes; each task 11 x 12 x 8 = 1056.
	r, err := hdf5.Open("testdata/fixtures/12345_0_node01.h5", hdf5.Options{MaxBytes: 8000})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dss := r.File().Datasets()
	if len(dss) != 3 {
		t.Fatalf("%d datasets", len(dss))
	}
	for _, ds := range dss {
		if ds.Loaded || ds.Columns != nil || len(ds.Fields) == 0 || ds.Err != nil {
			t.Fatalf("%s loaded by the walk", ds.Path())
		}
	}
	energy, t0, t1 := dss[0], dss[1], dss[2]
	if !energy.HasField("NodePower") || energy.DeclaredRows() != 300 {
		t.Fatalf("fields %v", energy.Fields)
	}
	if err := r.Load(energy); err != nil {
		t.Fatal(err)
	}
	if err := r.Load(energy); err != nil {
		t.Fatal("reload:", err)
	}
	if err := r.Load(t0); err == nil {
		t.Fatal("budget not enforced")
	} else if de, _ := profile.AsDatasetError(err); de.Class != profile.DatasetTooLarge {
		t.Fatal(err)
	}
	r.Release(energy)
	if energy.Loaded || energy.Columns != nil {
		t.Fatal("release kept columns")
	}
	if err := r.Load(t0); err != nil || t0.Err != nil {
		t.Fatal("after release:", err)
	}
	if err := r.Load(t1); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Load(energy); err != hdf5.ErrClosed {
		t.Fatalf("load after close: %v", err)
	}
	if t1.Columns[0].Len() != 11 {
		t.Fatal("columns lost on close")
	}
	other := &profile.Dataset{Name: "x"}
	r2, _ := hdf5.Open("testdata/fixtures/12345_0_node01.h5", hdf5.Options{})
	defer r2.Close()
	if err := r2.Load(other); err == nil {
		t.Fatal("foreign dataset loaded")
	}
}

func TestZeroRows(t *testing.T) {
	f := mustRead(t, "testdata/fixtures/empty_datasets.h5", hdf5.Options{})
	dss := f.Datasets()
	if len(dss) != 4 {
		t.Fatalf("%d datasets", len(dss))
	}
	for _, ds := range dss {
		if ds.Err != nil || !ds.Loaded || ds.Rows != 0 || len(ds.Columns) == 0 || ds.Columns[0].Len() != 0 {
			t.Errorf("%s: %v rows %d cols %d", ds.Path(), ds.Err, ds.Rows, len(ds.Columns))
		}
	}
	tf := mustRead(t, "testdata/types.h5", hdf5.Options{})
	if ds := mustDataset(t, tf, "/node01/empty_2d"); ds.Rows != 0 || len(ds.Columns) != 3 {
		t.Errorf("empty_2d %d %d", ds.Rows, len(ds.Columns))
	}
	if ds := mustDataset(t, tf, "/node01/no_cols"); ds.Err != nil || !ds.Loaded || ds.Rows != 4 || len(ds.Columns) != 0 {
		t.Errorf("no_cols: %v rows %d cols %d", ds.Err, ds.Rows, len(ds.Columns))
	}
}

// TestConcurrentReads runs readers in parallel goroutines (run with -race).
func TestConcurrentReads(t *testing.T) {
	files, _ := filepath.Glob("testdata/fixtures/*.h5")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				for _, p := range files {
					f, err := hdf5.ReadFile(p, hdf5.Options{})
					if err != nil {
						if _, ok := profile.AsFileError(err); !ok {
							errs <- err
						}
						continue
					}
					for _, ds := range f.Datasets() {
						if ds.Err != nil && ds.Err.Class != profile.DatasetUnreadable {
							errs <- ds.Err
						}
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNoStderrOutput: failing HDF5 calls must not print HDF5's error stack.
func TestNoStderrOutput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup2(int(w.Fd()), 2); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ { // several goroutines, so several OS threads
			wg.Add(1)
			go func() {
				defer wg.Done()
				hdf5.ReadFile("testdata/fixtures/corrupt_chunk.h5", hdf5.Options{})
				hdf5.ReadFile("testdata/hostile.h5", hdf5.Options{})
			}()
		}
		wg.Wait()
	}()
	<-done
	syscall.Dup2(saved, 2)
	syscall.Close(saved)
	w.Close()
	out := make([]byte, 4096)
	n, _ := r.Read(out)
	if n > 0 {
		t.Errorf("stderr got %q", out[:n])
	}
}

func TestLibVersion(t *testing.T) {
	if v := hdf5.LibVersion(); !strings.HasPrefix(v, "1.") {
		t.Errorf("version %q", v)
	}
}

// TestRegressionInputs reads mutated files that crashed libhdf5 (SIGFPE,
// SIGSEGV, abort, or 16 GB of memory) before the Go-side checks were added:
// they must now give per-file or per-dataset errors.
func TestRegressionInputs(t *testing.T) {
	files, _ := filepath.Glob("testdata/regress/*.h5")
	if len(files) < 10 {
		t.Fatalf("%d regression files", len(files))
	}
	opt := hdf5.Options{MaxRows: 1 << 20, MaxBytes: 64 << 20, MaxColumns: 256, MaxChunkBytes: 8 << 20}
	for _, p := range files {
		f, err := hdf5.ReadFile(p, opt)
		if err != nil {
			if _, ok := profile.AsFileError(err); !ok {
				t.Errorf("%s: %v", p, err)
			}
			continue
		}
		if len(f.Problems()) == 0 && len(f.Root.Notes) == 0 {
			t.Logf("%s: read without problems", filepath.Base(p))
		}
	}
}

package hdf5_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// golden is what testdata/golden.py recorded with h5py.
type golden struct {
	OpenError string                 `json:"open_error"`
	Order     []string               `json:"order"`
	Groups    map[string]goldenGroup `json:"groups"`
	Datasets  map[string]goldenDS    `json:"datasets"`
}

type goldenGroup struct {
	Attrs map[string][2]json.RawMessage `json:"attrs"`
}

type goldenDS struct {
	Shape       []uint64    `json:"shape"`
	Scalar      bool        `json:"scalar"`
	Columns     []goldenCol `json:"columns"`
	Error       string      `json:"error"`
	Unsupported bool        `json:"unsupported"`
}

type goldenCol struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Size   int      `json:"size"`
	Values []string `json:"values"`
}

func goldenPath(name string) string {
	if p := filepath.Join("testdata", "fixtures", name); fileExists(p) {
		return p
	}
	return filepath.Join("testdata", name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// walkOrder lists group and dataset paths depth first, as h5py visits them.
func walkOrder(g *profile.Group) []string {
	var out []string
	for _, it := range g.Items {
		switch {
		case it.Group != nil:
			out = append(out, it.Group.Path())
			out = append(out, walkOrder(it.Group)...)
		case it.Dataset != nil:
			out = append(out, it.Dataset.Path())
		}
	}
	return out
}

// TestFixturesMatchH5py reads every fixture (and the h5py-made types.h5 and
// userblock.h5) and compares the walk order, the group attributes and
// every column value with what h5py read.
func TestFixturesMatchH5py(t *testing.T) {
	wantClass := map[string]profile.FileClass{
		"zero_bytes.h5": profile.FileEmpty,
		"not_hdf5.h5":   profile.FileNotHDF5,
		"truncated.h5":  profile.FileUnreadable,
	}
	goldens, _ := filepath.Glob("testdata/golden/*.json")
	if len(goldens) < 20 {
		t.Fatalf("found %d golden files", len(goldens))
	}
	for _, gp := range goldens {
		name := strings.TrimSuffix(filepath.Base(gp), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(gp)
			if err != nil {
				t.Fatal(err)
			}
			var want golden
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			f, err := hdf5.ReadFile(goldenPath(name), hdf5.Options{VarLenStrings: true})
			if want.OpenError != "" {
				fe, ok := profile.AsFileError(err)
				if !ok {
					t.Fatalf("want a FileError (h5py: %s), got %v", want.OpenError, err)
				}
				if fe.Class != wantClass[name] {
					t.Fatalf("class %q, want %q (%v)", fe.Class, wantClass[name], err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := walkOrder(f.Root); !slices.Equal(got, want.Order) {
				t.Errorf("walk order\n got %q\nwant %q", got, want.Order)
			}
			for path, wg := range want.Groups {
				it, ok := f.Lookup(path)
				if !ok || it.Group == nil {
					t.Errorf("group %s missing", path)
					continue
				}
				checkAttrs(t, it.Group, wg)
			}
			for path, wd := range want.Datasets {
				it, ok := f.Lookup(path)
				if !ok || it.Dataset == nil {
					t.Errorf("dataset %s missing", path)
					continue
				}
				checkDataset(t, it.Dataset, wd)
			}
		})
	}
}

func checkAttrs(t *testing.T, g *profile.Group, want goldenGroup) {
	t.Helper()
	if len(g.Attrs) != len(want.Attrs) {
		t.Errorf("%s: %d attributes, want %d (notes %q)", g.Path(), len(g.Attrs), len(want.Attrs), g.Notes)
	}
	for name, kv := range want.Attrs {
		a, ok := g.Attr(name)
		if !ok {
			t.Errorf("%s: attribute %q missing", g.Path(), name)
			continue
		}
		var kind string
		_ = json.Unmarshal(kv[0], &kind)
		switch kind {
		case "s":
			var v []string
			_ = json.Unmarshal(kv[1], &v)
			if a.Kind != profile.AttrString || !slices.Equal(a.Strings, v) {
				t.Errorf("%s: attribute %q = %v %q, want %q", g.Path(), name, a.Kind, a.Strings, v)
			}
		case "i":
			var v []int64
			_ = json.Unmarshal(kv[1], &v)
			if a.Kind != profile.AttrInt || len(a.Ints) != len(v) || (len(v) > 0 && a.Ints[0] != v[0]) {
				t.Errorf("%s: attribute %q = %v %v, want %v", g.Path(), name, a.Kind, a.Ints, v)
			}
		case "u":
			var v []uint64
			_ = json.Unmarshal(kv[1], &v)
			if a.Kind != profile.AttrUint || len(a.Uints) != len(v) || (len(v) > 0 && a.Uints[0] != v[0]) {
				t.Errorf("%s: attribute %q = %v %v, want %v", g.Path(), name, a.Kind, a.Uints, v)
			}
		case "f":
			var v []float64
			_ = json.Unmarshal(kv[1], &v)
			if a.Kind != profile.AttrFloat || len(a.Floats) != len(v) || (len(v) > 0 && a.Floats[0] != v[0]) {
				t.Errorf("%s: attribute %q = %v %v, want %v", g.Path(), name, a.Kind, a.Floats, v)
			}
		}
	}
}

func checkDataset(t *testing.T, ds *profile.Dataset, want goldenDS) {
	t.Helper()
	p := ds.Path()
	if ds.Scalar != want.Scalar || (!want.Scalar && !slices.Equal(ds.Shape, want.Shape)) {
		t.Errorf("%s: shape %v scalar %v, want %v %v", p, ds.Shape, ds.Scalar, want.Shape, want.Scalar)
	}
	switch {
	case want.Error != "":
		if ds.Err == nil || ds.Err.Class != profile.DatasetUnreadable {
			t.Errorf("%s: err %v, want unreadable (h5py: %s)", p, ds.Err, want.Error)
		}
		return
	case want.Unsupported:
		if ds.Err == nil || ds.Err.Class != profile.DatasetUnsupported {
			t.Errorf("%s: err %v, want unsupported", p, ds.Err)
		}
		return
	}
	if ds.Err != nil || !ds.Loaded {
		t.Errorf("%s: not loaded: %v", p, ds.Err)
		return
	}
	if len(ds.Columns) != len(want.Columns) {
		t.Errorf("%s: %d columns, want %d", p, len(ds.Columns), len(want.Columns))
		return
	}
	for j, wc := range want.Columns {
		c := &ds.Columns[j]
		kind := map[string]profile.Kind{"u": profile.Uint, "i": profile.Int, "f": profile.Float}[wc.Kind]
		if c.Name != wc.Name || c.Kind != kind || c.Size != wc.Size {
			t.Errorf("%s: column %d is %s %v%d, want %s %s%d", p, j, c.Name, c.Kind, c.Size, wc.Name, wc.Kind, wc.Size)
			continue
		}
		if c.Len() != len(wc.Values) || ds.Rows != len(wc.Values) {
			t.Errorf("%s.%s: %d values (rows %d), want %d", p, c.Name, c.Len(), ds.Rows, len(wc.Values))
			continue
		}
		for i, s := range wc.Values {
			if !sameValue(c, i, s) {
				t.Errorf("%s.%s[%d] = %v, want %s", p, c.Name, i, c.Float(i), s)
				break
			}
		}
	}
}

// sameValue compares value i of c with h5py's text: decimal integers, or
// float.hex()/repr for floats (NaN equals NaN, -0 differs from 0).
func sameValue(c *profile.Column, i int, s string) bool {
	switch c.Kind {
	case profile.Uint:
		v, err := strconv.ParseUint(s, 10, 64)
		return err == nil && c.U[i] == v
	case profile.Int:
		v, err := strconv.ParseInt(s, 10, 64)
		return err == nil && c.I[i] == v
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false
	}
	if math.IsNaN(v) {
		return math.IsNaN(c.F[i])
	}
	return math.Float64bits(v) == math.Float64bits(c.F[i])
}

// TestFileClasses checks how whole-file failures are classified.
func TestFileClasses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid, err := os.ReadFile("testdata/fixtures/12345_0_node01.h5")
	if err != nil {
		t.Fatal(err)
	}
	sig := []byte{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'}
	garbage := append(append([]byte{}, sig...), []byte(strings.Repeat("\xff", 200))...)
	badRoot := append([]byte{}, valid...)
	// Root group object header address (v0 superblock, offset 24+5*8)
	// pointing into the middle of nowhere but inside the file.
	for i := 0; i < 8; i++ {
		badRoot[64+i] = 0
	}
	badRoot[64] = 0x10
	cases := []struct {
		name  string
		path  string
		class profile.FileClass
	}{
		{"empty", write("empty.h5", nil), profile.FileEmpty},
		{"xml", write("xml.h5", []byte("<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>")), profile.FileNotHDF5},
		{"short", write("short.h5", sig[:5]), profile.FileNotHDF5},
		{"signature only", write("sig.h5", sig), profile.FileUnreadable},
		{"garbage superblock", write("garbage.h5", garbage), profile.FileUnreadable},
		{"truncated half", write("half.h5", valid[:len(valid)/2]), profile.FileUnreadable},
		{"truncated to superblock", write("sb.h5", valid[:96]), profile.FileUnreadable},
		{"bad root address", write("badroot.h5", badRoot), profile.FileUnreadable},
		{"directory", dir, profile.FileNotHDF5},
		{"fixture truncated", "testdata/fixtures/truncated.h5", profile.FileUnreadable},
		{"fixture not hdf5", "testdata/fixtures/not_hdf5.h5", profile.FileNotHDF5},
		{"fixture empty", "testdata/fixtures/zero_bytes.h5", profile.FileEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := hdf5.Open(c.path, hdf5.Options{})
			if err == nil {
				r.Close()
				t.Fatal("opened")
			}
			fe, ok := profile.AsFileError(err)
			if !ok {
				t.Fatalf("not a FileError: %v", err)
			}
			if fe.Class != c.class {
				t.Fatalf("class %q, want %q: %v", fe.Class, c.class, err)
			}
			if fe.Reason == "" || strings.Contains(err.Error(), "\x1e") {
				t.Fatalf("bad message %q", err)
			}
		})
	}
	if _, err := hdf5.Open(filepath.Join(dir, "missing.h5"), hdf5.Options{}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestUserBlock(t *testing.T) {
	f, err := hdf5.ReadFile("testdata/userblock.h5", hdf5.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, ok := f.Lookup("/c0001/Energy")
	if !ok || it.Dataset.Rows != 4 || it.Dataset.Column("NodePower").U[3] != 112 {
		t.Fatalf("%+v", it.Dataset)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

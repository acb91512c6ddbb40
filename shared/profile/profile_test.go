package profile

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestColumnPrefix(t *testing.T) {
	cases := []struct {
		parts []string
		want  string
	}{
		{[]string{"node01", "Energy"}, "Energy"},
		{[]string{"node01", "Tasks", "0"}, "Tasks__0"},
		{[]string{"Steps", "0", "Nodes", "node01", "Energy"}, "0__Nodes__node01__Energy"},
		{[]string{"Steps", "batch", "Nodes", "node01", "Tasks", "0"}, "batch__Nodes__node01__Tasks__0"},
		{[]string{"z_root_dataset"}, "z_root_dataset"},
		{[]string{"g", "a/b", "c"}, "a_b__c"},
		{[]string{"g", ""}, "g__"},
		{[]string{"g", "", "x"}, "x"},
	}
	for _, c := range cases {
		if got := ColumnPrefix(c.parts); got != c.want {
			t.Errorf("ColumnPrefix(%q) = %q, want %q", c.parts, got, c.want)
		}
	}
}

func TestColumn(t *testing.T) {
	cols := []Column{
		{Name: "u", Kind: Uint, U: []uint64{1, math.MaxUint64}},
		{Name: "i", Kind: Int, I: []int64{-1, 2}},
		{Name: "f", Kind: Float, F: []float64{0.5, math.NaN()}},
	}
	for _, c := range cols {
		if c.Len() != 2 {
			t.Errorf("%s: len %d", c.Name, c.Len())
		}
	}
	if cols[0].Float(1) != math.MaxUint64 || cols[1].Float(0) != -1 || cols[2].Float(0) != 0.5 {
		t.Error("Float")
	}
	if Uint.String() != "uint" || Float.String() != "float" || Kind(9).String() != "Kind(9)" {
		t.Error("Kind.String")
	}
}

func TestAttr(t *testing.T) {
	cases := []struct {
		a        Attr
		i        int64
		iok      bool
		f        float64
		fok      bool
		s        string
		sok      bool
		kindName string
	}{
		{Attr{Kind: AttrInt, Ints: []int64{-3}}, -3, true, -3, true, "", false, "int"},
		{Attr{Kind: AttrUint, Uints: []uint64{math.MaxUint64}}, 0, false, math.MaxUint64, true, "", false, "uint"},
		{Attr{Kind: AttrUint, Uints: []uint64{7}}, 7, true, 7, true, "", false, "uint"},
		{Attr{Kind: AttrFloat, Floats: []float64{2}}, 2, true, 2, true, "", false, "float"},
		{Attr{Kind: AttrFloat, Floats: []float64{2.5}}, 0, false, 2.5, true, "", false, "float"},
		{Attr{Kind: AttrFloat, Floats: []float64{1e300}}, 0, false, 1e300, true, "", false, "float"},
		{Attr{Kind: AttrString, Strings: []string{"c0107"}}, 0, false, 0, false, "c0107", true, "string"},
		{Attr{Kind: AttrInt}, 0, false, 0, false, "", false, "int"},
	}
	for n, c := range cases {
		i, iok := c.a.AsInt()
		f, fok := c.a.AsFloat()
		s, sok := c.a.AsString()
		if i != c.i || iok != c.iok || f != c.f || fok != c.fok || s != c.s || sok != c.sok || c.a.Kind.String() != c.kindName {
			t.Errorf("case %d: %d %v %g %v %q %v", n, i, iok, f, fok, s, sok)
		}
	}
}

func sample() *File {
	energy := &Dataset{Name: "Energy", Parts: []string{"node01", "Energy"}, Shape: []uint64{3},
		Fields: []Field{{Name: "NodePower", Kind: Uint, Size: 8}}}
	bad := &Dataset{Name: "0", Parts: []string{"node01", "Tasks", "0"},
		Err: &DatasetError{Class: DatasetUnreadable, Reason: "cannot read the data", Err: errors.New("inflate() failed")}}
	tasks := &Group{Name: "Tasks", Parts: []string{"node01", "Tasks"}, Items: []Item{{Dataset: bad}}}
	node := &Group{Name: "node01", Parts: []string{"node01"},
		Attrs: []Attr{{Name: "CPUs per Task", Kind: AttrInt, Ints: []int64{4}}, {Name: "Node Name", Kind: AttrString, Strings: []string{"node01"}}},
		Items: []Item{{Dataset: energy}, {Group: tasks}}}
	return &File{Root: &Group{Items: []Item{{Group: node}}, Err: nil}}
}

func TestTree(t *testing.T) {
	f := sample()
	ds := f.Datasets()
	if len(ds) != 2 || ds[0].Path() != "/node01/Energy" || ds[1].Path() != "/node01/Tasks/0" {
		t.Fatalf("datasets %v", ds)
	}
	it, ok := f.Lookup("/node01/Tasks/0")
	if !ok || it.Dataset == nil || it.Name() != "0" {
		t.Fatal("lookup")
	}
	if _, ok := f.Lookup("node01/Energy/x"); ok {
		t.Error("lookup below a dataset")
	}
	if it, ok := f.Lookup("/"); !ok || it.Group != f.Root || it.Group.Path() != "/" {
		t.Error("root lookup")
	}
	g, _ := f.Lookup("node01")
	if v, ok := g.Group.AttrInt("CPUs per Task"); !ok || v != 4 {
		t.Error("AttrInt")
	}
	if v, ok := g.Group.AttrString("Node Name"); !ok || v != "node01" {
		t.Error("AttrString")
	}
	if _, ok := g.Group.AttrInt("Node Name"); ok {
		t.Error("string as int")
	}
	if !ds[0].HasField("NodePower") || ds[0].HasField("x") || ds[0].DeclaredRows() != 3 {
		t.Error("fields")
	}
	p := f.Problems()
	if len(p) != 1 || !strings.Contains(p[0], "/node01/Tasks/0: cannot read the data: inflate() failed") {
		t.Errorf("problems %q", p)
	}
	var nilFile *File
	if nilFile.Datasets() != nil || nilFile.Problems() != nil {
		t.Error("nil file")
	}
	d := &Dataset{Loaded: true, Rows: 2, Columns: []Column{{Name: "a"}}}
	if d.Column("a") == nil || d.Column("b") != nil {
		t.Error("Column")
	}
	d.Release()
	if d.Loaded || d.Rows != 0 || d.Columns != nil {
		t.Error("Release")
	}
	if (&Dataset{Scalar: true}).DeclaredRows() != 1 || (&Dataset{}).DeclaredRows() != 0 {
		t.Error("DeclaredRows")
	}
}

func TestErrors(t *testing.T) {
	cause := errors.New("truncated file")
	var err error = fmt.Errorf("analyze: %w", &FileError{Class: FileUnreadable, Reason: "unreadable HDF5 (corrupted or truncated)", Err: cause})
	fe, ok := AsFileError(err)
	if !ok || fe.Class != FileUnreadable || !errors.Is(err, cause) || fe.Error() != "unreadable HDF5 (corrupted or truncated): truncated file" {
		t.Errorf("FileError: %v", err)
	}
	if (&FileError{Reason: "file is empty"}).Error() != "file is empty" {
		t.Error("FileError without cause")
	}
	err = fmt.Errorf("x: %w", &DatasetError{Class: DatasetTooLarge, Reason: "too many rows"})
	de, ok := AsDatasetError(err)
	if !ok || de.Class != DatasetTooLarge || de.Error() != "too many rows" {
		t.Errorf("DatasetError: %v", err)
	}
	if _, ok := AsFileError(err); ok {
		t.Error("dataset error taken for a file error")
	}
}

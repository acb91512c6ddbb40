// Package profile holds the content of a job-profile file as the analysis
// sees it: a tree of groups and numeric datasets, independent of HDF5.
// The hdf5 package fills it; the pipelines read it.
//
// A File is produced in two stages. Walking the file gives the whole tree:
// groups with their attributes, and datasets with their shape and the
// columns (Fields) a load will produce. Loading a dataset fills its Columns.
// A pipeline can therefore look at the tree first and then load, use and
// release one dataset at a time.
package profile

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the numeric class of a column as stored in the file. The compat
// pipeline's casts depend on it (an unsigned 64-bit counter and a double
// are cast differently), so the reader keeps it.
type Kind uint8

const (
	Uint  Kind = iota + 1 // unsigned integer, Size bytes
	Int                   // signed integer, Size bytes
	Float                 // IEEE float, Size bytes
)

func (k Kind) String() string {
	switch k {
	case Uint:
		return "uint"
	case Int:
		return "int"
	case Float:
		return "float"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Column is one numeric member of a dataset. Exactly one of U, I, F holds
// the values, chosen by Kind: U for Uint, I for Int, F for Float, whatever
// the Size in the file (values are widened to 64 bits).
type Column struct {
	Name string
	Kind Kind
	Size int // bytes per value in the file: 1, 2, 4 or 8 (2 also for half floats)
	U    []uint64
	I    []int64
	F    []float64
}

// Len is the number of values.
func (c *Column) Len() int {
	switch c.Kind {
	case Uint:
		return len(c.U)
	case Int:
		return len(c.I)
	}
	return len(c.F)
}

// Float returns value i as float64 whatever the kind.
func (c *Column) Float(i int) float64 {
	switch c.Kind {
	case Uint:
		return float64(c.U[i])
	case Int:
		return float64(c.I[i])
	}
	return c.F[i]
}

// Field describes a column before it is loaded: its name and how its
// values are stored in the file.
type Field struct {
	Name string
	Kind Kind
	Size int
}

// FileClass says why a whole file could not be read.
type FileClass string

const (
	FileEmpty      FileClass = "empty"      // zero bytes
	FileNotHDF5    FileClass = "not_hdf5"   // no HDF5 signature
	FileUnreadable FileClass = "unreadable" // signature present, but corrupted or truncated
)

// ClassifiedError is why a file or a dataset is unusable: a class a
// program acts on, a reason for people and the cause for the log.
type ClassifiedError[C ~string] struct {
	Class  C
	Reason string // human-readable, e.g. "unreadable HDF5 (corrupted or truncated)"
	Err    error  // underlying cause, for the log; may be nil
}

func (e *ClassifiedError[C]) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *ClassifiedError[C]) Unwrap() error { return e.Err }

// asClassified reports whether err is (or wraps) a *ClassifiedError[C].
func asClassified[C ~string](err error) (*ClassifiedError[C], bool) {
	var ce *ClassifiedError[C]
	ok := errors.As(err, &ce)
	return ce, ok
}

// FileError is returned when a whole file is unusable.
type FileError = ClassifiedError[FileClass]

// AsFileError reports whether err is (or wraps) a *FileError.
func AsFileError(err error) (*FileError, bool) { return asClassified[FileClass](err) }

// DatasetClass says why one dataset could not be loaded. The rest of the
// file is still usable.
type DatasetClass string

const (
	// DatasetTooLarge: the declared size exceeds a reader limit (rows,
	// columns, bytes, chunk size). Refused before any allocation.
	DatasetTooLarge DatasetClass = "too_large"
	// DatasetUnsupported: the element type or storage is not something the
	// reader turns into numeric columns (strings, references, nested
	// compounds, N-D compounds, external or virtual storage, ...).
	DatasetUnsupported DatasetClass = "unsupported"
	// DatasetUnreadable: HDF5 failed while opening or reading it (e.g. a
	// corrupt chunk fails its inflate/checksum).
	DatasetUnreadable DatasetClass = "unreadable"
)

// DatasetError records why a dataset has no columns.
type DatasetError = ClassifiedError[DatasetClass]

// AsDatasetError reports whether err is (or wraps) a *DatasetError.
func AsDatasetError(err error) (*DatasetError, bool) { return asClassified[DatasetClass](err) }

// AttrKind is the class of an attribute's values.
type AttrKind uint8

const (
	AttrInt    AttrKind = iota + 1 // signed integer, values in Ints
	AttrUint                       // unsigned integer, values in Uints
	AttrFloat                      // float, values in Floats
	AttrString                     // string (fixed or variable length), values in Strings
)

func (k AttrKind) String() string {
	switch k {
	case AttrInt:
		return "int"
	case AttrUint:
		return "uint"
	case AttrFloat:
		return "float"
	case AttrString:
		return "string"
	}
	return fmt.Sprintf("AttrKind(%d)", uint8(k))
}

// Attr is an attribute of a group. Slurm writes 1-element attributes
// (int32 or fixed-length string); all elements are kept.
type Attr struct {
	Name    string
	Kind    AttrKind
	Size    int // bytes per element in the file; 0 for variable-length strings
	Ints    []int64
	Uints   []uint64
	Floats  []float64
	Strings []string
}

// Len is the number of elements.
func (a *Attr) Len() int {
	switch a.Kind {
	case AttrInt:
		return len(a.Ints)
	case AttrUint:
		return len(a.Uints)
	case AttrFloat:
		return len(a.Floats)
	}
	return len(a.Strings)
}

// AsInt returns the first element as an integer. Unsigned values above
// MaxInt64 and non-integral floats are refused.
func (a *Attr) AsInt() (int64, bool) {
	switch {
	case a.Kind == AttrInt && len(a.Ints) > 0:
		return a.Ints[0], true
	case a.Kind == AttrUint && len(a.Uints) > 0 && a.Uints[0] <= 1<<63-1:
		return int64(a.Uints[0]), true
	case a.Kind == AttrFloat && len(a.Floats) > 0:
		f := a.Floats[0]
		if f == float64(int64(f)) && f >= -(1<<63) && f < 1<<63 {
			return int64(f), true
		}
	}
	return 0, false
}

// AsFloat returns the first numeric element as float64.
func (a *Attr) AsFloat() (float64, bool) {
	switch {
	case a.Kind == AttrInt && len(a.Ints) > 0:
		return float64(a.Ints[0]), true
	case a.Kind == AttrUint && len(a.Uints) > 0:
		return float64(a.Uints[0]), true
	case a.Kind == AttrFloat && len(a.Floats) > 0:
		return a.Floats[0], true
	}
	return 0, false
}

// AsString returns the first element of a string attribute.
func (a *Attr) AsString() (string, bool) {
	if a.Kind == AttrString && len(a.Strings) > 0 {
		return a.Strings[0], true
	}
	return "", false
}

// Item is one link of a group: exactly one of Group and Dataset is set.
type Item struct {
	Group   *Group
	Dataset *Dataset
}

// Name is the link name.
func (it Item) Name() string {
	if it.Group != nil {
		return it.Group.Name
	}
	if it.Dataset != nil {
		return it.Dataset.Name
	}
	return ""
}

// Group is an HDF5 group.
type Group struct {
	Name  string   // link name; "" for the root group
	Parts []string // path components below the root; nil for the root
	Attrs []Attr   // in byte order of the names
	// Items holds sub-groups and datasets interleaved, in byte order of the
	// link names (the order h5py lists them in: "0" < "10" < "2" < "Energy").
	Items []Item
	// Notes records links and attributes that were skipped (soft/external
	// links, named datatypes, cycles, non-numeric attributes, ...).
	Notes []string
	// Err is set when the group's links or attributes could not be listed
	// completely; Items then holds what could be read.
	Err error
}

// Path is the absolute HDF5 path, e.g. "/node01/Tasks".
func (g *Group) Path() string { return "/" + strings.Join(g.Parts, "/") }

// Attr returns the attribute called name.
func (g *Group) Attr(name string) (*Attr, bool) {
	for i := range g.Attrs {
		if g.Attrs[i].Name == name {
			return &g.Attrs[i], true
		}
	}
	return nil, false
}

// AttrInt returns the first element of an integer attribute.
func (g *Group) AttrInt(name string) (int64, bool) {
	if a, ok := g.Attr(name); ok {
		return a.AsInt()
	}
	return 0, false
}

// AttrString returns the first element of a string attribute.
func (g *Group) AttrString(name string) (string, bool) {
	if a, ok := g.Attr(name); ok {
		return a.AsString()
	}
	return "", false
}

// Child returns the direct child called name.
func (g *Group) Child(name string) (Item, bool) {
	for _, it := range g.Items {
		if it.Name() == name {
			return it, true
		}
	}
	return Item{}, false
}

// Lookup follows a slash-separated path relative to g ("Tasks/0").
func (g *Group) Lookup(path string) (Item, bool) {
	cur := Item{Group: g}
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		if p == "" {
			continue
		}
		if cur.Group == nil {
			return Item{}, false
		}
		next, ok := cur.Group.Child(p)
		if !ok {
			return Item{}, false
		}
		cur = next
	}
	return cur, true
}

// Datasets returns every dataset below g, depth first, in the order of
// Items (byte order of names at every level).
func (g *Group) Datasets() []*Dataset {
	var out []*Dataset
	g.walk(func(d *Dataset) { out = append(out, d) })
	return out
}

func (g *Group) walk(fn func(*Dataset)) {
	for _, it := range g.Items {
		switch {
		case it.Dataset != nil:
			fn(it.Dataset)
		case it.Group != nil:
			it.Group.walk(fn)
		}
	}
}

// Dataset is one HDF5 dataset. After the walk, Fields describes the columns
// a load will produce (or Err says why there will be none). After a
// successful load, Loaded is true and Columns/Rows hold the values.
//
// Column naming follows the original pipeline: compound members keep their
// names; a 1-D or scalar numeric dataset gives one column "value"; an N-D
// dataset gives Shape[0] rows and columns "col_0".."col_<k-1>" where k is the
// product of the other dimensions (row-major).
type Dataset struct {
	Name  string
	Parts []string // path components below the root, ending with Name
	// Shape is the extent. Scalar datasets have Scalar set and Shape nil.
	Shape    []uint64
	Scalar   bool
	Compound bool
	Type     string  // short description of the element type, for logs
	Fields   []Field // columns a load produces, in member order
	Notes    []string
	Err      *DatasetError

	Loaded  bool
	Rows    int
	Columns []Column
}

// Path is the absolute HDF5 path, e.g. "/node01/Energy".
func (d *Dataset) Path() string { return "/" + strings.Join(d.Parts, "/") }

// DeclaredRows is the number of rows the dataset declares: Shape[0], 1 for a
// scalar, 0 for an empty (null) dataspace.
func (d *Dataset) DeclaredRows() uint64 {
	if d.Scalar {
		return 1
	}
	if len(d.Shape) == 0 {
		return 0
	}
	return d.Shape[0]
}

// Column returns the loaded column called name.
func (d *Dataset) Column(name string) *Column {
	for i := range d.Columns {
		if d.Columns[i].Name == name {
			return &d.Columns[i]
		}
	}
	return nil
}

// HasField reports whether the dataset has a numeric field called name.
func (d *Dataset) HasField(name string) bool {
	for _, f := range d.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Release drops the loaded values (the reader's byte budget is returned by
// the reader's own Release, which calls this).
func (d *Dataset) Release() {
	d.Loaded = false
	d.Rows = 0
	d.Columns = nil
}

// Prefix is the original pipeline's column prefix for this dataset: the path
// without the top-level name, joined with "__" ("Energy", "Tasks__0",
// "0__Nodes__node01__Energy"). A dataset directly under the root keeps its
// own name.
func (d *Dataset) Prefix() string { return ColumnPrefix(d.Parts) }

// ColumnPrefix joins path components like the original pipeline: drop the
// first component when there is more than one, drop empty ones, replace
// "/" inside a component by "_", join with "__".
func ColumnPrefix(parts []string) string {
	trimmed := parts
	if len(parts) > 1 {
		trimmed = parts[1:]
	}
	kept := make([]string, 0, len(trimmed))
	for _, p := range trimmed {
		if p != "" {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		kept = parts
	}
	out := make([]string, len(kept))
	for i, p := range kept {
		out[i] = strings.ReplaceAll(p, "/", "_")
	}
	return strings.Join(out, "__")
}

// File is the walked content of one profile file.
type File struct {
	Path  string
	Size  int64
	Root  *Group
	Notes []string // file-wide notes (e.g. walk truncated at a limit)
}

// Datasets returns every dataset in the file, depth first, in byte order of
// names at every level.
func (f *File) Datasets() []*Dataset {
	if f == nil || f.Root == nil {
		return nil
	}
	return f.Root.Datasets()
}

// Lookup finds the item at an absolute or root-relative path ("/" is the root).
func (f *File) Lookup(path string) (Item, bool) {
	if f == nil || f.Root == nil {
		return Item{}, false
	}
	return f.Root.Lookup(path)
}

// Problems lists every group and dataset error in walk order, for logs.
func (f *File) Problems() []string {
	var out []string
	var rec func(g *Group)
	rec = func(g *Group) {
		if g.Err != nil {
			out = append(out, g.Path()+": "+g.Err.Error())
		}
		for _, it := range g.Items {
			switch {
			case it.Group != nil:
				rec(it.Group)
			case it.Dataset != nil && it.Dataset.Err != nil:
				out = append(out, it.Dataset.Path()+": "+it.Dataset.Err.Error())
			}
		}
	}
	if f != nil && f.Root != nil {
		rec(f.Root)
	}
	return out
}

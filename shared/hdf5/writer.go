package hdf5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/benchwrap/backend/shared/profile"
	gonum "gonum.org/v1/hdf5"
)

// WriteOptions sets the physical layout of written datasets. The zero value
// is what Slurm writes: chunks of 10 rows, deflate filter at level 0,
// unlimited first dimension, packed little-endian compounds.
type WriteOptions struct {
	// ChunkRows is the number of rows per chunk (default 10). Negative:
	// contiguous storage without filters (and fixed dimensions).
	ChunkRows int
	// Deflate is the deflate level (default 0: the filter is present but
	// stores). Negative: no filter.
	Deflate int
	// Aligned places compound members at offsets aligned to their size
	// (like a C struct) instead of packing them.
	Aligned bool
	// BigEndian stores dataset values big-endian.
	BigEndian bool
	// ExtendName and ExtendRows make a decompression bomb for the tests:
	// chunked datasets named ExtendName are extended to ExtendRows rows
	// after their columns are written. The chunks of the rows beyond are
	// never written (they read as fill values, the most compressible data
	// there is), so a file of a few KB declares gigabytes.
	ExtendName string
	ExtendRows uint64
	// InflateName and InflateBytes make the other bomb: the first chunk of
	// the chunked, deflated datasets named InflateName is replaced by a
	// deflate stream of InflateBytes zero bytes. The dataset declares
	// only its rows; the chunk inflates far beyond its declared size. (The
	// chunk index records stored sizes in as many bytes as the chunk's own
	// size needs: use large chunks.)
	InflateName  string
	InflateBytes uint64
}

// WriteFile writes the tree under root to a new file at path (replacing
// it). Groups keep their Attrs and Items; each Dataset is written from its
// Columns:
//   - Compound: a 1-D dataset (or scalar when Scalar is set) whose compound
//     element has one member per column, in column order;
//   - otherwise a single "value" column (1-D, or scalar when Scalar is set),
//     or, when len(Shape) > 1, the columns col_0..col_k-1 of an N-D dataset
//     of that Shape (k = product of Shape[1:]).
//
// A column's Kind and Size select the stored type (Size 0 means 8): integers
// of 1, 2, 4 or 8 bytes, floats of 4 or 8 bytes. Attributes are written as
// 1-D attributes of Len() elements: integers as int32 (Size 4, the default)
// or int64, floats as float64, strings as fixed-length NULLTERM ASCII of the
// longest element's length. The file has a version 0 superblock (HDF5's
// default, as Slurm's).
func WriteFile(path string, root *profile.Group, opt WriteOptions) (err error) {
	if root == nil {
		return errors.New("hdf5: WriteFile: nil root")
	}
	lock()
	defer unlock()
	f, gerr := gonum.CreateFile(path, gonum.F_ACC_TRUNC)
	if gerr != nil {
		return lastError("create %s", path)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = lastError("close %s", path)
		}
	}()
	g, gerr := f.OpenGroup("/")
	if gerr != nil {
		return lastError("open root group of %s", path)
	}
	defer g.Close()
	w := &writer{opt: opt}
	return w.group(g, root, "")
}

type writer struct {
	opt WriteOptions
}

func (w *writer) group(g *gonum.Group, src *profile.Group, path string) error {
	for i := range src.Attrs {
		if err := writeAttr(g, &src.Attrs[i]); err != nil {
			return fmt.Errorf("%s: %w", orRoot(path), err)
		}
	}
	for _, it := range src.Items {
		switch {
		case it.Group != nil:
			sub, err := g.CreateGroup(it.Group.Name)
			if err != nil {
				return lastError("create group %s/%s", path, it.Group.Name)
			}
			err = w.group(sub, it.Group, path+"/"+it.Group.Name)
			sub.Close()
			if err != nil {
				return err
			}
		case it.Dataset != nil:
			if err := w.dataset(g, it.Dataset, path+"/"+it.Dataset.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// writeBlockBytes is about how many bytes one H5Dwrite stores (rounded to
// whole chunks); like reads, small selections are faster per chunk.
var writeBlockBytes = 32 << 10

// member is one stored column: its file type and byte offset in a record.
type member struct {
	col    *profile.Column
	size   int
	offset int
	ftype  *gonum.Datatype
}

func fileType(c *profile.Column, be bool) (*gonum.Datatype, int, error) {
	size := c.Size
	if size == 0 {
		size = 8
	}
	type key struct {
		k  profile.Kind
		s  int
		be bool
	}
	t := map[key]*gonum.Datatype{
		{profile.Uint, 1, false}: gonum.T_STD_U8LE, {profile.Uint, 1, true}: gonum.T_STD_U8BE,
		{profile.Uint, 2, false}: gonum.T_STD_U16LE, {profile.Uint, 2, true}: gonum.T_STD_U16BE,
		{profile.Uint, 4, false}: gonum.T_STD_U32LE, {profile.Uint, 4, true}: gonum.T_STD_U32BE,
		{profile.Uint, 8, false}: gonum.T_STD_U64LE, {profile.Uint, 8, true}: gonum.T_STD_U64BE,
		{profile.Int, 1, false}: gonum.T_STD_I8LE, {profile.Int, 1, true}: gonum.T_STD_I8BE,
		{profile.Int, 2, false}: gonum.T_STD_I16LE, {profile.Int, 2, true}: gonum.T_STD_I16BE,
		{profile.Int, 4, false}: gonum.T_STD_I32LE, {profile.Int, 4, true}: gonum.T_STD_I32BE,
		{profile.Int, 8, false}: gonum.T_STD_I64LE, {profile.Int, 8, true}: gonum.T_STD_I64BE,
		{profile.Float, 4, false}: gonum.T_IEEE_F32LE, {profile.Float, 4, true}: gonum.T_IEEE_F32BE,
		{profile.Float, 8, false}: gonum.T_IEEE_F64LE, {profile.Float, 8, true}: gonum.T_IEEE_F64BE,
	}[key{c.Kind, size, be}]
	if t == nil {
		return nil, 0, fmt.Errorf("column %q: cannot store %v of %d bytes", c.Name, c.Kind, size)
	}
	return t, size, nil
}

func (w *writer) dataset(g *gonum.Group, ds *profile.Dataset, path string) (err error) {
	if len(ds.Columns) == 0 {
		return fmt.Errorf("hdf5: %s: no columns to write", path)
	}
	rows := ds.Columns[0].Len()
	for i := range ds.Columns {
		if ds.Columns[i].Len() != rows {
			return fmt.Errorf("hdf5: %s: column %q has %d values, want %d", path, ds.Columns[i].Name, ds.Columns[i].Len(), rows)
		}
	}
	if ds.Scalar && rows != 1 {
		return fmt.Errorf("hdf5: %s: scalar dataset needs exactly 1 row, has %d", path, rows)
	}

	// Element type and record layout.
	var members []member
	var etype *gonum.Datatype // the dataset's element type
	recSize := 0
	if ds.Compound {
		maxAlign := 1
		for i := range ds.Columns {
			ft, size, err := fileType(&ds.Columns[i], w.opt.BigEndian)
			if err != nil {
				return fmt.Errorf("hdf5: %s: %w", path, err)
			}
			if w.opt.Aligned && recSize%size != 0 {
				recSize += size - recSize%size
			}
			members = append(members, member{col: &ds.Columns[i], size: size, offset: recSize, ftype: ft})
			recSize += size
			maxAlign = max(maxAlign, size)
		}
		if w.opt.Aligned && recSize%maxAlign != 0 {
			recSize += maxAlign - recSize%maxAlign
		}
		ct, err := gonum.NewCompoundType(recSize)
		if err != nil {
			return lastError("compound type for %s", path)
		}
		defer ct.Close()
		for _, m := range members {
			if err := ct.Insert(m.col.Name, m.offset, m.ftype); err != nil {
				return lastError("member %q of %s", m.col.Name, path)
			}
		}
		etype = &ct.Datatype
	} else {
		k := ds.Columns[0]
		for i := range ds.Columns {
			if ds.Columns[i].Kind != k.Kind || ds.Columns[i].Size != k.Size {
				return fmt.Errorf("hdf5: %s: the columns of a non-compound dataset must share one type", path)
			}
		}
		ft, size, err := fileType(&ds.Columns[0], w.opt.BigEndian)
		if err != nil {
			return fmt.Errorf("hdf5: %s: %w", path, err)
		}
		etype = ft
		for i := range ds.Columns {
			members = append(members, member{col: &ds.Columns[i], size: size, offset: i * size, ftype: ft})
		}
		recSize = size * len(ds.Columns)
	}

	// Dataspace and creation properties.
	var dims []uint
	switch {
	case ds.Scalar:
	case !ds.Compound && len(ds.Shape) > 1:
		k := uint64(1)
		for _, d := range ds.Shape[1:] {
			k *= d
		}
		if ds.Shape[0] != uint64(rows) || k != uint64(len(ds.Columns)) {
			return fmt.Errorf("hdf5: %s: shape %v does not match %d rows x %d columns", path, ds.Shape, rows, len(ds.Columns))
		}
		for _, d := range ds.Shape {
			dims = append(dims, uint(d))
		}
	default:
		if !ds.Compound && len(ds.Columns) != 1 {
			return fmt.Errorf("hdf5: %s: a 1-D dataset has one column", path)
		}
		dims = []uint{uint(rows)}
	}
	chunked := w.opt.ChunkRows >= 0 && !ds.Scalar
	var space *gonum.Dataspace
	if ds.Scalar {
		space, err = gonum.CreateDataspace(gonum.S_SCALAR)
	} else {
		var maxdims []uint
		if chunked {
			maxdims = append([]uint(nil), dims...)
			maxdims[0] = ^uint(0) // H5S_UNLIMITED
		}
		space, err = gonum.CreateSimpleDataspace(dims, maxdims)
	}
	if err != nil {
		return lastError("dataspace for %s", path)
	}
	defer space.Close()
	dcpl, err := gonum.NewPropList(gonum.P_DATASET_CREATE)
	if err != nil {
		return lastError("creation properties for %s", path)
	}
	defer dcpl.Close()
	// No modification times in the object headers: the same content gives
	// the same bytes (h5gen's seeds).
	if C.H5Pset_obj_track_times(C.hid_t(dcpl.ID()), C.hbool_t(false)) < 0 {
		return lastError("creation properties for %s", path)
	}
	chunkRows := 0
	if chunked {
		chunkRows = w.opt.ChunkRows
		if chunkRows == 0 {
			chunkRows = 10
		}
		cdims := []uint{uint(chunkRows)}
		for _, d := range dims[1:] {
			cdims = append(cdims, max(1, d))
		}
		if err := dcpl.SetChunk(cdims); err != nil {
			return lastError("chunking of %s", path)
		}
		if w.opt.Deflate >= 0 {
			if err := dcpl.SetDeflate(w.opt.Deflate); err != nil {
				return lastError("deflate filter of %s", path)
			}
		}
	}
	cname := C.CString(ds.Name)
	defer C.free(unsafe.Pointer(cname))
	did := C.bw_create_dataset(C.hid_t(g.ID()), cname, C.hid_t(etype.ID()), C.hid_t(space.ID()), C.hid_t(dcpl.ID()))
	if did < 0 {
		return lastError("create dataset %s", path)
	}
	defer C.H5Dclose(did)
	if chunked {
		// The bounded deflate filter (shim.c) serves the writer too, should
		// libhdf5 read a chunk back: this dataset's chunks are the bound.
		C.bw_set_chunk_cap(C.size_t(2*chunkRows*max(recSize, 1) + 64))
		defer C.bw_set_chunk_cap(C.size_t(DefaultMaxChunkBytes))
	}
	if chunked && w.opt.ExtendRows > uint64(rows) && ds.Name == w.opt.ExtendName {
		defer func() {
			ext := make([]C.hsize_t, len(dims))
			for i, d := range dims {
				ext[i] = C.hsize_t(d)
			}
			ext[0] = C.hsize_t(w.opt.ExtendRows)
			if C.H5Dset_extent(did, &ext[0]) < 0 && err == nil {
				err = lastError("extend %s", path)
			}
		}()
	}
	if chunked && w.opt.Deflate >= 0 && w.opt.InflateBytes > 0 && ds.Name == w.opt.InflateName {
		defer func() {
			if err == nil {
				err = writeInflatingChunk(did, len(dims), w.opt.InflateBytes, path)
			}
		}()
	}
	if rows == 0 {
		return nil
	}

	// Rows are encoded in the file layout and written in blocks of whole
	// chunks, so HDF5 copies them without conversion.
	block := max(1, writeBlockBytes/recSize)
	if chunkRows > 0 {
		block = max(chunkRows, block-block%chunkRows)
	}
	block = min(block, rows)
	buf := make([]byte, block*recSize)
	rank := len(dims)
	start := make([]C.hsize_t, max(rank, 1))
	count := make([]C.hsize_t, max(rank, 1))
	for i := 1; i < rank; i++ {
		count[i] = C.hsize_t(dims[i])
	}
	perRow := 1
	if !ds.Compound {
		perRow = len(ds.Columns)
	}
	for r0 := 0; r0 < rows; r0 += block {
		n := min(block, rows-r0)
		clear(buf)
		for _, m := range members {
			if err := encode(buf, recSize, m, r0, n, w.opt.BigEndian); err != nil {
				return fmt.Errorf("hdf5: %s: %w", path, err)
			}
		}
		start[0], count[0] = C.hsize_t(r0), C.hsize_t(n)
		if C.bw_write_rows(did, C.hid_t(etype.ID()), C.int(rank), &start[0], &count[0], C.hsize_t(n*perRow), unsafe.Pointer(&buf[0])) < 0 {
			return lastError("write rows %d..%d of %s", r0, r0+n-1, path)
		}
	}
	return nil
}

// encode stores rows r0..r0+n-1 of m's column into buf (records of rec
// bytes) in the member's file representation.
func encode(buf []byte, rec int, m member, r0, n int, be bool) error {
	var order binary.ByteOrder = binary.LittleEndian
	if be {
		order = binary.BigEndian
	}
	c := m.col
	for i := 0; i < n; i++ {
		b := buf[i*rec+m.offset : i*rec+m.offset+m.size]
		var u uint64
		switch c.Kind {
		case profile.Uint:
			u = c.U[r0+i]
			if m.size < 8 && u>>(8*m.size) != 0 {
				return fmt.Errorf("column %q row %d: %d does not fit %d bytes", c.Name, r0+i, u, m.size)
			}
		case profile.Int:
			v := c.I[r0+i]
			if m.size < 8 {
				lim := int64(1) << (8*m.size - 1)
				if v < -lim || v >= lim {
					return fmt.Errorf("column %q row %d: %d does not fit %d bytes", c.Name, r0+i, v, m.size)
				}
			}
			u = uint64(v)
		case profile.Float:
			if m.size == 4 {
				u = uint64(math.Float32bits(float32(c.F[r0+i])))
			} else {
				u = math.Float64bits(c.F[r0+i])
			}
		}
		switch m.size {
		case 1:
			b[0] = byte(u)
		case 2:
			order.PutUint16(b, uint16(u))
		case 4:
			order.PutUint32(b, uint32(u))
		default:
			order.PutUint64(b, u)
		}
	}
	return nil
}

func writeAttr(g *gonum.Group, a *profile.Attr) error {
	n := a.Len()
	if n == 0 {
		return fmt.Errorf("attribute %q has no elements", a.Name)
	}
	space, err := gonum.CreateSimpleDataspace([]uint{uint(n)}, nil)
	if err != nil {
		return lastError("attribute %q dataspace", a.Name)
	}
	defer space.Close()
	var dtype *gonum.Datatype
	var buf []byte
	switch a.Kind {
	case profile.AttrInt, profile.AttrUint:
		size := a.Size
		if size == 0 {
			size = 4
		}
		signed := a.Kind == profile.AttrInt
		switch {
		case size == 4 && signed:
			dtype = gonum.T_STD_I32LE
		case size == 8 && signed:
			dtype = gonum.T_STD_I64LE
		case size == 4:
			dtype = gonum.T_STD_U32LE
		case size == 8:
			dtype = gonum.T_STD_U64LE
		default:
			return fmt.Errorf("attribute %q: integers of %d bytes not supported", a.Name, size)
		}
		buf = make([]byte, n*size)
		for i := 0; i < n; i++ {
			var u uint64
			if signed {
				u = uint64(a.Ints[i])
			} else {
				u = a.Uints[i]
			}
			if size == 4 {
				binary.LittleEndian.PutUint32(buf[4*i:], uint32(u))
			} else {
				binary.LittleEndian.PutUint64(buf[8*i:], u)
			}
		}
	case profile.AttrFloat:
		dtype = gonum.T_IEEE_F64LE
		buf = make([]byte, 8*n)
		for i, f := range a.Floats {
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(f))
		}
	case profile.AttrString:
		size := 1
		for _, s := range a.Strings {
			size = max(size, len(s))
		}
		st, err := gonum.T_C_S1.Copy()
		if err != nil {
			return lastError("string type for attribute %q", a.Name)
		}
		defer st.Close()
		if err := st.SetSize(size); err != nil {
			return lastError("string size for attribute %q", a.Name)
		}
		dtype = st
		buf = make([]byte, n*size)
		for i, s := range a.Strings {
			copy(buf[i*size:], s)
		}
	default:
		return fmt.Errorf("attribute %q: unknown kind %v", a.Name, a.Kind)
	}
	attr, err := g.CreateAttribute(a.Name, dtype, space)
	if err != nil {
		return lastError("create attribute %q", a.Name)
	}
	defer attr.Close()
	if err := attr.Write(&buf[0], dtype); err != nil {
		return lastError("write attribute %q", a.Name)
	}
	return nil
}

// writeInflatingChunk stores a zlib stream of n zero bytes as the first
// chunk of a rank-dimensional chunked dataset. Caller holds mu.
func writeInflatingChunk(did C.hid_t, rank int, n uint64, path string) error {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zero := make([]byte, 1<<20)
	for left := n; left > 0; {
		k := min(left, uint64(len(zero)))
		if _, err := zw.Write(zero[:k]); err != nil {
			return err
		}
		left -= k
	}
	if err := zw.Close(); err != nil {
		return err
	}
	off := make([]C.hsize_t, max(rank, 1))
	b := z.Bytes()
	if C.bw_write_raw_chunk(did, &off[0], C.size_t(len(b)), unsafe.Pointer(&b[0])) < 0 {
		return lastError("write the inflating chunk of %s", path)
	}
	return nil
}

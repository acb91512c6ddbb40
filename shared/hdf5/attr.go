package hdf5

/*
#include <stdlib.h>
#include <string.h>
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"fmt"
	"sort"
	"unsafe"

	"github.com/benchwrap/backend/shared/profile"
)

// readAttrs reads the attributes of the open object oid into g.Attrs, in
// byte order of their names. Attributes that are not numbers or strings,
// or that are too large, are skipped with a note.
func (r *Reader) readAttrs(oid C.hid_t, g *profile.Group) {
	var names C.bw_names
	if C.bw_list_attrs(oid, C.size_t(r.opt.MaxAttrs), &names) < 0 {
		err := lastError("list attributes of %s", g.Path())
		g.Notes = append(g.Notes, err.Error())
	}
	defer C.bw_names_free(&names)
	if names.truncated != 0 {
		g.Notes = append(g.Notes, fmt.Sprintf("only the first %d attributes were read", r.opt.MaxAttrs))
	}
	cnames := append([]*C.char(nil), unsafe.Slice(names.names, int(names.n))...)
	sort.SliceStable(cnames, func(i, j int) bool { return C.GoString(cnames[i]) < C.GoString(cnames[j]) })
	for _, cname := range cnames {
		name := C.GoString(cname)
		a, note := r.readAttr(oid, cname, name)
		if note != "" {
			g.Notes = append(g.Notes, fmt.Sprintf("attribute %q skipped: %s", name, note))
			continue
		}
		g.Attrs = append(g.Attrs, a)
	}
}

// readAttr reads one attribute; a non-empty note means it was skipped.
func (r *Reader) readAttr(oid C.hid_t, cname *C.char, name string) (profile.Attr, string) {
	a := profile.Attr{Name: name}
	aid := C.H5Aopen(oid, cname, C.H5P_DEFAULT)
	if aid < 0 {
		return a, lastError("open attribute").Error()
	}
	defer C.H5Aclose(aid)
	space := C.H5Aget_space(aid)
	if space < 0 {
		return a, lastError("attribute dataspace").Error()
	}
	defer C.H5Sclose(space)
	n, err := spaceElements(space, maxAttrElems)
	if err != "" {
		return a, err
	}
	tid := C.H5Aget_type(aid)
	if tid < 0 {
		return a, lastError("attribute type").Error()
	}
	defer C.H5Tclose(tid)
	size := int(C.H5Tget_size(tid))
	a.Size = size
	switch C.H5Tget_class(tid) {
	case C.H5T_INTEGER:
		if size < 1 || size > 8 {
			return a, fmt.Sprintf("%d-byte integer", size)
		}
		if C.H5Tget_sign(tid) == C.H5T_SGN_NONE {
			a.Kind = profile.AttrUint
			a.Uints = make([]uint64, n)
			if n > 0 && C.H5Aread(aid, C.bw_native(C.BW_U64), unsafe.Pointer(&a.Uints[0])) < 0 {
				return a, lastError("read").Error()
			}
		} else {
			a.Kind = profile.AttrInt
			a.Ints = make([]int64, n)
			if n > 0 && C.H5Aread(aid, C.bw_native(C.BW_I64), unsafe.Pointer(&a.Ints[0])) < 0 {
				return a, lastError("read").Error()
			}
		}
	case C.H5T_FLOAT:
		if size < 2 || size > 8 {
			return a, fmt.Sprintf("%d-byte float", size)
		}
		a.Kind = profile.AttrFloat
		a.Floats = make([]float64, n)
		if n > 0 && C.H5Aread(aid, C.bw_native(C.BW_F64), unsafe.Pointer(&a.Floats[0])) < 0 {
			return a, lastError("read").Error()
		}
	case C.H5T_STRING:
		a.Kind = profile.AttrString
		a.Strings = make([]string, n)
		if n == 0 {
			break
		}
		if C.H5Tis_variable_str(tid) > 0 {
			// Variable-length strings live in the global heap, whose
			// reader in libhdf5 1.10.8 crashes on corrupt heap IDs (found
			// by fuzzing). Slurm writes fixed-length strings only.
			if !r.opt.VarLenStrings {
				return a, "variable-length string (not read unless Options.VarLenStrings)"
			}
			a.Size = 0
			cset := C.int(C.H5Tget_cset(tid))
			buf := C.bw_read_vlen_strings(aid, space, C.size_t(n), cset)
			if buf == nil {
				return a, lastError("read").Error()
			}
			for i, p := range unsafe.Slice(buf, n) {
				if p != nil {
					a.Strings[i] = C.GoStringN(p, C.int(C.strnlen(p, C.size_t(r.opt.MaxAttrBytes))))
				}
			}
			C.bw_reclaim_vlen_strings(buf, space, C.size_t(n), cset)
			break
		}
		if size < 1 || int64(size)*int64(n) > int64(r.opt.MaxAttrBytes) {
			return a, fmt.Sprintf("%d strings of %d bytes exceed %d bytes", n, size, r.opt.MaxAttrBytes)
		}
		buf := make([]byte, size*n)
		if C.H5Aread(aid, tid, unsafe.Pointer(&buf[0])) < 0 {
			return a, lastError("read").Error()
		}
		spacePad := C.H5Tget_strpad(tid) == C.H5T_STR_SPACEPAD
		for i := range a.Strings {
			s := buf[i*size : (i+1)*size]
			if spacePad {
				s = bytes.TrimRight(s, " ")
			} else if j := bytes.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			a.Strings[i] = string(s)
		}
	default:
		return a, typeClassName(C.H5Tget_class(tid)) + " type"
	}
	return a, ""
}

// spaceElements returns the number of elements of a dataspace, refusing
// more than max (computed from the dimensions without overflow).
func spaceElements(space C.hid_t, max uint64) (int, string) {
	switch C.H5Sget_simple_extent_type(space) {
	case C.H5S_SCALAR:
		return 1, ""
	case C.H5S_NULL:
		return 0, ""
	case C.H5S_SIMPLE:
	default:
		return 0, "unknown dataspace"
	}
	dims, err := simpleDims(space)
	if err != nil {
		return 0, err.Error()
	}
	n := uint64(1)
	for _, d := range dims {
		if d == 0 {
			return 0, ""
		}
		if d > max || n > max/d {
			return 0, fmt.Sprintf("more than %d elements", max)
		}
		n *= d
	}
	return int(n), ""
}

func simpleDims(space C.hid_t) ([]uint64, error) {
	rank := int(C.H5Sget_simple_extent_ndims(space))
	if rank < 0 || rank > 32 {
		return nil, lastError("dataspace rank")
	}
	if rank == 0 {
		return []uint64{}, nil
	}
	var dims [32]C.hsize_t
	if C.H5Sget_simple_extent_dims(space, &dims[0], nil) < 0 {
		return nil, lastError("dataspace dims")
	}
	out := make([]uint64, rank)
	for i := range out {
		out[i] = uint64(dims[i])
	}
	return out, nil
}

func typeClassName(c C.H5T_class_t) string {
	switch c {
	case C.H5T_INTEGER:
		return "integer"
	case C.H5T_FLOAT:
		return "float"
	case C.H5T_TIME:
		return "time"
	case C.H5T_STRING:
		return "string"
	case C.H5T_BITFIELD:
		return "bitfield"
	case C.H5T_OPAQUE:
		return "opaque"
	case C.H5T_COMPOUND:
		return "compound"
	case C.H5T_REFERENCE:
		return "reference"
	case C.H5T_ENUM:
		return "enum"
	case C.H5T_VLEN:
		return "variable-length"
	case C.H5T_ARRAY:
		return "array"
	}
	return "unknown"
}

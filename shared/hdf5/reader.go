package hdf5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"unsafe"

	"github.com/benchwrap/backend/shared/profile"
)

// Reader is an open profile file. Open walks the whole tree (metadata
// only); Load reads one dataset's columns. A Reader may be used from
// several goroutines (every call takes the package lock), but a pipeline
// normally uses one per file.
type Reader struct {
	opt     Options
	file    *profile.File
	fid     C.hid_t
	plans   map[*profile.Dataset]*plan
	hdr     *headerReader // Go-side object header checks
	hdrFile *os.File
	held    int64 // bytes of loaded columns not yet released
	// What the datasets declare (see Declared), saturating.
	declBytes, declRows uint64
	objects             int // links seen during the walk
	closed              bool
}

// Declared is what loading every dataset of the file would take, known
// from the walk before anything is read: the column data (8 bytes per
// value, as Load stores it) of all datasets together, and the most rows
// one dataset declares. A small file whose compressed (or never written)
// chunks declare gigabytes is recognised here. Datasets refused for their
// size count too; those refused for other reasons do not.
func (r *Reader) Declared() (bytes, rows uint64) { return r.declBytes, r.declRows }

// ErrClosed is returned by Load after Close.
var ErrClosed = errors.New("hdf5: reader is closed")

// Open checks the file (Precheck), opens it read-only and walks every group
// and dataset. A file that cannot be used at all gives a *profile.FileError
// (empty, not HDF5, unreadable); problems below the root are recorded on the
// groups and datasets concerned and the rest of the file is still walked.
func Open(path string, opt Options) (*Reader, error) {
	sb, err := precheck(path)
	if err != nil {
		if _, ok := profile.AsFileError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("hdf5: %s: %w", path, err)
	}
	if opt.Isolate {
		if err := probe(path, opt); err != nil {
			return nil, err
		}
	}
	r := &Reader{
		opt:   opt.withDefaults(),
		file:  &profile.File{Path: path, Size: sb.size},
		plans: make(map[*profile.Dataset]*plan),
	}
	r.hdr, r.hdrFile, err = newHeaderReader(path, sb, r.opt.MaxChunkBytes)
	if err != nil {
		return nil, fmt.Errorf("hdf5: %s: %w", path, err)
	}
	lock()
	defer unlock()
	// libhdf5 reads the root group's B-tree while opening the file.
	if _, err := r.hdr.checkObject(sb.root); err != nil {
		r.hdrFile.Close()
		return nil, &profile.FileError{Class: profile.FileUnreadable, Reason: reasonUnreadable, Err: err}
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	r.fid = C.bw_fopen(cpath)
	if r.fid < 0 {
		r.hdrFile.Close()
		return nil, &profile.FileError{Class: profile.FileUnreadable, Reason: reasonUnreadable,
			Err: lastError("open %s", path)}
	}
	if err := r.walkRoot(); err != nil {
		C.H5Fclose(r.fid)
		r.hdrFile.Close()
		r.fid = -1
		return nil, &profile.FileError{Class: profile.FileUnreadable, Reason: reasonUnreadable, Err: err}
	}
	return r, nil
}

// File returns the walked tree. Datasets have Fields (or Err) but no
// Columns until they are loaded.
func (r *Reader) File() *profile.File { return r.file }

// Close releases the file. Loaded columns stay valid.
func (r *Reader) Close() error {
	lock()
	defer unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.hdrFile.Close()
	if r.fid >= 0 && C.H5Fclose(r.fid) < 0 {
		return lastError("close %s", r.file.Path)
	}
	return nil
}

// ReadFile opens path, loads every dataset and closes the file. Datasets
// that fail have their Err set; the returned error is only for the file.
func ReadFile(path string, opt Options) (*profile.File, error) {
	r, err := Open(path, opt)
	if err != nil {
		return nil, err
	}
	r.LoadAll()
	if err := r.Close(); err != nil {
		return r.file, err
	}
	return r.file, nil
}

func (r *Reader) walkRoot() error {
	croot := C.CString("/")
	defer C.free(unsafe.Pointer(croot))
	gid := C.H5Gopen2(r.fid, croot, C.H5P_DEFAULT)
	if gid < 0 {
		return lastError("open root group")
	}
	defer C.H5Gclose(gid)
	var info C.H5O_info_t
	if C.H5Oget_info2(gid, &info, C.H5O_INFO_BASIC) < 0 {
		return lastError("root group info")
	}
	root := &profile.Group{}
	r.file.Root = root
	if err := r.walkGroup(gid, root, []C.haddr_t{info.addr}); err != nil {
		return err
	}
	// A root whose links cannot be listed at all is an unreadable file.
	if root.Err != nil && len(root.Items) == 0 {
		return root.Err
	}
	return nil
}

// walkGroup fills g from the open group gid. ancestors holds the object
// addresses of gid and its parents, to refuse cycles made of hard links.
func (r *Reader) walkGroup(gid C.hid_t, g *profile.Group, ancestors []C.haddr_t) error {
	r.readAttrs(gid, g)

	budget := r.opt.MaxObjects - r.objects
	if budget <= 0 {
		r.noteTruncated(g)
		return nil
	}
	var links C.bw_links
	rc := C.bw_list_links(gid, C.size_t(budget), &links)
	if rc < 0 {
		g.Err = lastError("list links of %s", g.Path())
	}
	defer C.bw_links_free(&links)
	n := int(links.n)
	names := unsafe.Slice(links.names, n)
	types := unsafe.Slice(links.types, n)
	addrs := unsafe.Slice(links.addrs, n)
	r.objects += n
	if links.truncated != 0 {
		r.noteTruncated(g)
	}
	for i := 0; i < n; i++ {
		name := C.GoString(names[i])
		switch C.H5L_type_t(types[i]) {
		case C.H5L_TYPE_HARD:
		case C.H5L_TYPE_SOFT:
			g.Notes = append(g.Notes, fmt.Sprintf("link %q: soft link skipped", name))
			continue
		case C.H5L_TYPE_EXTERNAL:
			g.Notes = append(g.Notes, fmt.Sprintf("link %q: external link not followed", name))
			continue
		default:
			g.Notes = append(g.Notes, fmt.Sprintf("link %q: user-defined link skipped", name))
			continue
		}
		parts := append(append(make([]string, 0, len(g.Parts)+1), g.Parts...), name)
		oinfo, err := r.hdr.checkObject(uint64(addrs[i]))
		if err != nil {
			if oinfo.dataset {
				e := dsErr(profile.DatasetUnreadable, err, "corrupt dataset header")
				switch {
				case errors.Is(err, errBigChunk):
					e = dsErr(profile.DatasetTooLarge, nil, "chunks larger than %d bytes", r.opt.MaxChunkBytes)
				case errors.Is(err, errVirtual):
					e = dsErr(profile.DatasetUnsupported, nil, "virtual dataset (maps other files) not read")
				}
				ds := &profile.Dataset{Name: name, Parts: parts, Err: e}
				r.plans[ds] = &plan{err: e}
				g.Items = append(g.Items, profile.Item{Dataset: ds})
			} else if g.Err == nil {
				g.Err = fmt.Errorf("link %q: %w", name, err)
			}
			g.Notes = append(g.Notes, fmt.Sprintf("link %q: %v", name, err))
			continue
		}
		oid := C.H5Oopen_by_addr(r.fid, addrs[i])
		if oid < 0 {
			err := lastError("open object %s", "/"+joinParts(parts))
			g.Notes = append(g.Notes, fmt.Sprintf("link %q: %v", name, err))
			if g.Err == nil {
				g.Err = err
			}
			continue
		}
		switch C.H5Iget_type(oid) {
		case C.H5I_GROUP:
			child := &profile.Group{Name: name, Parts: parts}
			switch {
			case containsAddr(ancestors, addrs[i]):
				g.Notes = append(g.Notes, fmt.Sprintf("link %q: hard link to an enclosing group (cycle) skipped", name))
			case len(ancestors) >= r.opt.MaxDepth:
				g.Notes = append(g.Notes, fmt.Sprintf("link %q: group nesting deeper than %d skipped", name, r.opt.MaxDepth))
			default:
				if err := r.walkGroup(oid, child, append(ancestors, addrs[i])); err != nil {
					C.H5Oclose(oid)
					return err
				}
				g.Items = append(g.Items, profile.Item{Group: child})
			}
		case C.H5I_DATASET:
			ds := &profile.Dataset{Name: name, Parts: parts}
			r.inspect(oid, ds, addrs[i], oinfo)
			g.Items = append(g.Items, profile.Item{Dataset: ds})
		case C.H5I_DATATYPE:
			g.Notes = append(g.Notes, fmt.Sprintf("link %q: named datatype skipped", name))
		default:
			g.Notes = append(g.Notes, fmt.Sprintf("link %q: object of unknown type skipped", name))
		}
		C.H5Oclose(oid)
	}
	// HDF5 listed the links in its native order (see shim.c): sort them in
	// byte order of the names, the order h5py lists them in.
	sort.SliceStable(g.Items, func(a, b int) bool { return g.Items[a].Name() < g.Items[b].Name() })
	return nil
}

func (r *Reader) noteTruncated(g *profile.Group) {
	msg := fmt.Sprintf("walk stopped after %d links (MaxObjects)", r.opt.MaxObjects)
	g.Notes = append(g.Notes, msg)
	if len(r.file.Notes) == 0 {
		r.file.Notes = append(r.file.Notes, msg)
	}
}

func containsAddr(s []C.haddr_t, a C.haddr_t) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}

func joinParts(p []string) string {
	n := 0
	for _, s := range p {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for i, s := range p {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, s...)
	}
	return string(b)
}

package hdf5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/benchwrap/backend/shared/profile"
)

// plan is what the walk learned about a dataset, enough to read it later.
type plan struct {
	addr     C.haddr_t
	dims     []uint64 // nil for scalar / null
	scalar   bool
	null     bool
	rows     int
	cols     int           // columns produced
	members  []string      // compound: numeric member names, in member order
	kinds    []memberKind  // one per column
	chunk0   int           // rows per chunk (0 if not chunked)
	chunkB   uint64        // bytes per chunk (0 if not chunked)
	direct   *directPlan   // set when Go reads the chunks itself (chunkread.go)
	loading  chan struct{} // closed when a read under way ends
	released bool          // loaded, then released: not prefetched again
	err      *profile.DatasetError
}

// loadedBytes is what the dataset holds once loaded: 8 bytes a value.
func (p *plan) loadedBytes() int64 { return int64(p.rows) * int64(p.cols) * 8 }

type memberKind struct {
	kind profile.Kind
	size int
}

// ErrChunkInflates is in the error of a dataset whose chunk decompresses
// to more than its declared size: the file lies about its size, and its
// reading stopped at the declared size.
var ErrChunkInflates = errors.New("a chunk inflates beyond its declared size")

// blockBytes is about how many bytes of columns one H5Dread fills (rounded
// to whole chunks). 32 KiB was fastest for Slurm's 10-row chunks with
// libhdf5 1.10.8 (larger selections cost more per chunk). A variable for
// benchmarks.
var blockBytes = 32 << 10

func dsErr(class profile.DatasetClass, err error, format string, args ...any) *profile.DatasetError {
	return &profile.DatasetError{Class: class, Reason: fmt.Sprintf(format, args...), Err: err}
}

// inspect fills ds's shape, type and fields from the open dataset did, and
// records a plan for Load. Limits are checked here, on the declared sizes,
// before anything is allocated.
func (r *Reader) inspect(did C.hid_t, ds *profile.Dataset, addr C.haddr_t, info objectInfo) {
	chunkElem := info.chunkElem
	p := &plan{addr: addr}
	r.plans[ds] = p
	fail := func(e *profile.DatasetError) {
		p.err = e
		ds.Err = e
		ds.Fields = nil
	}

	space := C.H5Dget_space(did)
	if space < 0 {
		fail(dsErr(profile.DatasetUnreadable, lastError("dataspace of %s", ds.Path()), "cannot read the dataspace"))
		return
	}
	switch C.H5Sget_simple_extent_type(space) {
	case C.H5S_SCALAR:
		p.scalar = true
		ds.Scalar = true
	case C.H5S_NULL:
		p.null = true
		ds.Notes = append(ds.Notes, "null dataspace (no elements)")
	case C.H5S_SIMPLE:
		dims, err := simpleDims(space)
		if err != nil {
			C.H5Sclose(space)
			fail(dsErr(profile.DatasetUnreadable, err, "cannot read the dataspace"))
			return
		}
		p.dims = dims
		ds.Shape = dims
	default:
		C.H5Sclose(space)
		fail(dsErr(profile.DatasetUnsupported, nil, "unknown dataspace class"))
		return
	}
	C.H5Sclose(space)

	tid := C.H5Dget_type(did)
	if tid < 0 {
		fail(dsErr(profile.DatasetUnreadable, lastError("datatype of %s", ds.Path()), "cannot read the datatype"))
		return
	}
	defer C.H5Tclose(tid)
	elemSize := uint64(C.H5Tget_size(tid))
	class := C.H5Tget_class(tid)
	ds.Compound = class == C.H5T_COMPOUND
	var desc strings.Builder
	// Per column: its byte offset in the element and whether the file
	// stores it exactly as its memory type (for the direct read).
	var offs []int
	asIs := true
	if ds.Compound {
		nm := int(C.H5Tget_nmembers(tid))
		if nm < 0 {
			fail(dsErr(profile.DatasetUnreadable, lastError("compound members of %s", ds.Path()), "cannot read the compound type"))
			return
		}
		desc.WriteString("compound{")
		for i := 0; i < nm; i++ {
			cname := C.H5Tget_member_name(tid, C.uint(i))
			if cname == nil {
				fail(dsErr(profile.DatasetUnreadable, lastError("member %d of %s", i, ds.Path()), "cannot read the compound type"))
				return
			}
			name := C.GoString(cname)
			C.H5free_memory(unsafe.Pointer(cname))
			mt := C.H5Tget_member_type(tid, C.uint(i))
			if mt < 0 {
				fail(dsErr(profile.DatasetUnreadable, lastError("member %q of %s", name, ds.Path()), "cannot read the compound type"))
				return
			}
			mk, mdesc, why := numericType(mt)
			msize := uint64(C.H5Tget_size(mt))
			same := sameAsMemory(mt, mk)
			C.H5Tclose(mt)
			// libhdf5 does not check that a decoded member lies inside
			// the compound; its conversion then copies out of bounds.
			if off := uint64(C.H5Tget_member_offset(tid, C.uint(i))); msize == 0 || off > elemSize || msize > elemSize-off {
				fail(dsErr(profile.DatasetUnreadable, nil, "member %q (offset %d, %d bytes) outside the %d-byte compound", name, off, msize, elemSize))
				return
			}
			if i > 0 {
				desc.WriteByte(',')
			}
			if i < 16 {
				desc.WriteString(name + ":" + mdesc)
			} else if i == 16 {
				desc.WriteString("...")
			}
			if why != "" {
				ds.Notes = append(ds.Notes, fmt.Sprintf("member %q skipped: %s", name, why))
				continue
			}
			p.members = append(p.members, name)
			p.kinds = append(p.kinds, mk)
			offs = append(offs, int(C.H5Tget_member_offset(tid, C.uint(i))))
			asIs = asIs && same
		}
		desc.WriteString("}")
	} else {
		mk, mdesc, why := numericType(tid)
		desc.WriteString(mdesc)
		if why != "" {
			ds.Type = desc.String()
			fail(dsErr(profile.DatasetUnsupported, nil, "element type is not numeric: %s", why))
			return
		}
		p.kinds = []memberKind{mk}
		offs, asIs = []int{0}, sameAsMemory(tid, mk)
	}
	ds.Type = desc.String()

	if elemSize == 0 || elemSize > maxElemBytes {
		fail(dsErr(profile.DatasetTooLarge, nil, "element size %d bytes is outside 1..%d", elemSize, maxElemBytes))
		return
	}
	// libhdf5 sizes chunk buffers from the layout message and copies
	// elements of the datatype's size into them: they must agree.
	if chunkElem != 0 && chunkElem != elemSize {
		fail(dsErr(profile.DatasetUnreadable, nil, "layout records %d-byte elements, the datatype has %d", chunkElem, elemSize))
		return
	}
	deflate, e := r.checkStorage(did, ds, p, elemSize)
	if e != nil {
		fail(e)
		return
	}

	// Rows and columns, checked against the limits without overflow.
	var rows, cols uint64
	switch {
	case p.null:
		rows = 0
	case p.scalar:
		rows = 1
	case len(p.dims) == 0:
		rows = 0
	default:
		rows = p.dims[0]
	}
	if ds.Compound {
		if len(p.dims) > 1 {
			fail(dsErr(profile.DatasetUnsupported, nil, "compound dataset with %d dimensions", len(p.dims)))
			return
		}
		if len(p.members) == 0 {
			fail(dsErr(profile.DatasetUnsupported, nil, "compound has no numeric members"))
			return
		}
		cols = uint64(len(p.members))
	} else {
		cols = 1
		for _, d := range p.dims[min(1, len(p.dims)):] {
			hi, lo := bits.Mul64(cols, d)
			if hi != 0 || lo > uint64(r.opt.MaxColumns) {
				fail(dsErr(profile.DatasetTooLarge, nil, "shape %v gives more than %d columns", p.dims, r.opt.MaxColumns))
				return
			}
			cols = lo
		}
	}
	if cols > uint64(r.opt.MaxColumns) {
		fail(dsErr(profile.DatasetTooLarge, nil, "%d columns exceed the limit of %d", cols, r.opt.MaxColumns))
		return
	}
	r.declRows = max(r.declRows, rows)
	if hi, lo := bits.Mul64(rows, cols*8); hi != 0 || lo > math.MaxUint64-r.declBytes {
		r.declBytes = math.MaxUint64
	} else {
		r.declBytes += lo
	}
	if rows > uint64(r.opt.MaxRows) {
		fail(dsErr(profile.DatasetTooLarge, nil, "%d rows exceed the limit of %d", rows, r.opt.MaxRows))
		return
	}
	if hi, lo := bits.Mul64(rows, cols*8); hi != 0 || lo > uint64(r.opt.MaxBytes) {
		fail(dsErr(profile.DatasetTooLarge, nil, "%d rows x %d columns exceed the limit of %d bytes", rows, cols, r.opt.MaxBytes))
		return
	}
	p.rows, p.cols = int(rows), int(cols)
	if asIs && deflate >= 0 && len(p.dims) == 1 && p.chunkB > 0 {
		p.direct = newDirectPlan(info, p, elemSize, deflate == 1, offs)
	}
	if p.chunkB > 0 && p.direct == nil {
		if e := r.storedFits(did); e != nil {
			fail(e)
			return
		}
	}

	// Fields, named like the original pipeline.
	switch {
	case ds.Compound:
		for i, name := range p.members {
			ds.Fields = append(ds.Fields, profile.Field{Name: name, Kind: p.kinds[i].kind, Size: p.kinds[i].size})
		}
	case len(p.dims) <= 1:
		ds.Fields = []profile.Field{{Name: "value", Kind: p.kinds[0].kind, Size: p.kinds[0].size}}
	default:
		k := p.kinds[0]
		p.kinds = make([]memberKind, cols)
		ds.Fields = make([]profile.Field, cols)
		for i := range ds.Fields {
			p.kinds[i] = k
			ds.Fields[i] = profile.Field{Name: "col_" + strconv.Itoa(i), Kind: k.kind, Size: k.size}
		}
	}
}

// checkStorage refuses storage the reader must not follow (raw data in
// external files, virtual datasets that map other files) and chunks too
// large to allocate. For a chunked dataset it also says whether the Go
// chunk reader can decode its filters: 0 no filter, 1 deflate alone, -1
// neither.
func (r *Reader) checkStorage(did C.hid_t, ds *profile.Dataset, p *plan, elemSize uint64) (int, *profile.DatasetError) {
	dcpl := C.H5Dget_create_plist(did)
	if dcpl < 0 {
		return -1, dsErr(profile.DatasetUnreadable, lastError("creation properties of %s", ds.Path()), "cannot read the storage layout")
	}
	defer C.H5Pclose(dcpl)
	layout := C.H5Pget_layout(dcpl)
	switch layout {
	case C.H5D_COMPACT, C.H5D_CONTIGUOUS, C.H5D_CHUNKED:
	case C.H5D_VIRTUAL:
		return -1, dsErr(profile.DatasetUnsupported, nil, "virtual dataset (maps other files) not read")
	default:
		return -1, dsErr(profile.DatasetUnreadable, lastError("layout of %s", ds.Path()), "unknown storage layout")
	}
	if n := C.H5Pget_external_count(dcpl); n != 0 {
		return -1, dsErr(profile.DatasetUnsupported, nil, "raw data stored in external files not read")
	}
	var bad C.int
	switch C.bw_filters_ok(dcpl, &bad) {
	case 1:
	case 0:
		return -1, dsErr(profile.DatasetUnsupported, nil, "filter %d not read (only deflate, shuffle and fletcher32 are)", int(bad))
	default:
		return -1, dsErr(profile.DatasetUnreadable, lastError("filters of %s", ds.Path()), "cannot read the filter pipeline")
	}
	if layout != C.H5D_CHUNKED {
		// libhdf5 1.10.8 copies elements x element size out of compact
		// or contiguous storage without checking the stored size (a
		// corrupt header makes it read past its buffers). Storage 0 is a
		// dataset never written: HDF5 returns fill values.
		elems := uint64(1)
		for _, d := range p.dims {
			hi, lo := bits.Mul64(elems, d)
			if hi != 0 {
				return -1, dsErr(profile.DatasetTooLarge, nil, "shape %v overflows", p.dims)
			}
			elems = lo
		}
		if p.null {
			elems = 0
		}
		hi, need := bits.Mul64(elems, elemSize)
		stored := uint64(C.H5Dget_storage_size(did))
		if hi != 0 || (stored != 0 && stored != need) || (layout == C.H5D_COMPACT && stored != need) {
			return -1, dsErr(profile.DatasetUnreadable, nil, "stored size %d bytes does not match %d elements of %d bytes", stored, elems, elemSize)
		}
		return -1, nil
	}
	var cd [32]C.hsize_t
	rank := int(C.H5Pget_chunk(dcpl, 32, &cd[0]))
	if rank < 1 || rank > 32 {
		return -1, dsErr(profile.DatasetUnreadable, lastError("chunk shape of %s", ds.Path()), "cannot read the chunk shape")
	}
	// libhdf5 does not check that the chunk rank matches the dataspace; a
	// mismatch (e.g. a scalar dataspace) makes it map an unbounded number
	// of chunks for one read (gigabytes of memory).
	if p.scalar || p.null || rank != len(p.dims) {
		return -1, dsErr(profile.DatasetUnreadable, nil, "chunks of rank %d for a dataspace of rank %d", rank, len(p.dims))
	}
	total := elemSize
	for i := 0; i < rank; i++ {
		hi, lo := bits.Mul64(total, uint64(cd[i]))
		if hi != 0 || lo > uint64(r.opt.MaxChunkBytes) {
			return -1, dsErr(profile.DatasetTooLarge, nil, "chunks larger than %d bytes", r.opt.MaxChunkBytes)
		}
		total = lo
	}
	if uint64(cd[0]) <= math.MaxInt32 {
		p.chunk0 = int(cd[0])
	}
	p.chunkB = total
	if f := int(C.bw_deflate_only(dcpl)); f == 0 || f == 1 {
		return f, nil
	}
	return -1, nil
}

// numericType classifies an HDF5 type: the column kind and size when it is a
// 1/2/4/8-byte integer or a 2/4/8-byte float, a short description, and a
// reason when it is not numeric.
func numericType(t C.hid_t) (memberKind, string, string) {
	size := int(C.H5Tget_size(t))
	order := "le"
	if C.H5Tget_order(t) == C.H5T_ORDER_BE {
		order = "be"
	}
	switch class := C.H5Tget_class(t); class {
	case C.H5T_INTEGER:
		k := profile.Uint
		letter := "u"
		if C.H5Tget_sign(t) != C.H5T_SGN_NONE {
			k, letter = profile.Int, "i"
		}
		desc := letter + strconv.Itoa(size*8) + order
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return memberKind{}, desc, fmt.Sprintf("%d-byte integer", size)
		}
		if size == 1 {
			desc = letter + "8"
		}
		return memberKind{kind: k, size: size}, desc, ""
	case C.H5T_FLOAT:
		desc := "f" + strconv.Itoa(size*8) + order
		if size != 2 && size != 4 && size != 8 {
			return memberKind{}, desc, fmt.Sprintf("%d-byte float", size)
		}
		return memberKind{kind: profile.Float, size: size}, desc, ""
	default:
		name := typeClassName(class)
		return memberKind{}, name, name + " type is not numeric"
	}
}

// storedFits checks a chunked dataset's index before libhdf5 reads its
// chunks. The index records each chunk's stored size, and libhdf5
// allocates that much to read a (filtered) chunk: a corrupt index can make
// it allocate gigabytes. Together the chunks cannot be larger than the
// file. (libhdf5 walks the whole index for it: the direct read, which
// bounds each chunk itself, skips it.)
func (r *Reader) storedFits(did C.hid_t) *profile.DatasetError {
	if stored := uint64(C.H5Dget_storage_size(did)); stored > uint64(r.file.Size) {
		return dsErr(profile.DatasetUnreadable, nil, "chunk index claims %d stored bytes in a %d-byte file", stored, r.file.Size)
	}
	return nil
}

// sameAsMemory reports whether a numeric type is stored exactly as its
// memory type (little-endian 8-byte integer of the same sign, IEEE double).
func sameAsMemory(t C.hid_t, mk memberKind) bool {
	switch int(C.bw_le64(t)) {
	case C.BW_U64:
		return mk.kind == profile.Uint
	case C.BW_I64:
		return mk.kind == profile.Int
	case C.BW_F64:
		return mk.kind == profile.Float
	}
	return false
}

func nativeType(k profile.Kind) C.hid_t {
	switch k {
	case profile.Uint:
		return C.bw_native(C.BW_U64)
	case profile.Int:
		return C.bw_native(C.BW_I64)
	}
	return C.bw_native(C.BW_F64)
}

// Load reads the columns of ds, which must come from this Reader's File.
// On failure ds.Err is set and returned (as a *profile.DatasetError); the
// rest of the file stays readable. Loading a loaded dataset is a no-op.
func (r *Reader) Load(ds *profile.Dataset) error {
	_, err := r.load(ds, false)
	return err
}

// Prefetch loads ds ahead of its use, typically from another goroutine
// while the previous dataset is processed: a later Load of it (which waits
// for a prefetch under way) then finds it loaded. When the reader's budget
// cannot hold ds beside what is held now it does nothing and returns
// false (a prefetcher stops there), so that a prefetch never makes a later
// Load fail. A file's own problems are recorded as Load would record them,
// and a dataset already used and released is not read again.
func (r *Reader) Prefetch(ds *profile.Dataset) bool {
	refused, _ := r.load(ds, true)
	return !refused
}

// load is Load, or Prefetch when ahead; it reports whether the budget
// refused a prefetch.
func (r *Reader) load(ds *profile.Dataset, ahead bool) (bool, error) {
	lock()
	defer unlock()
	if r.closed {
		return false, ErrClosed
	}
	p := r.plans[ds]
	if p == nil {
		return false, fmt.Errorf("hdf5: dataset %s does not belong to this reader", ds.Path())
	}
	for p.loading != nil { // a read of it under way (the lock is let go during reads)
		done := p.loading
		unlock()
		<-done
		lock()
	}
	if p.err != nil {
		ds.Err = p.err
		return false, p.err
	}
	if ds.Loaded || (ahead && p.released) {
		return false, nil
	}
	need := p.loadedBytes() // bounded by MaxBytes in inspect
	if r.held+need > r.opt.MaxBytes {
		if ahead {
			return true, nil
		}
		ds.Err = dsErr(profile.DatasetTooLarge, nil,
			"loading %d bytes would exceed the reader's budget of %d bytes (%d held)", need, r.opt.MaxBytes, r.held)
		return false, ds.Err
	}
	r.held += need // held from now: a read beside this one counts it
	p.loading = make(chan struct{})
	cols, err := r.read(ds, p)
	close(p.loading)
	p.loading = nil
	if err != nil {
		r.held -= need
		p.err = err
		ds.Err = err
		return false, err
	}
	ds.Err = nil
	ds.Columns = cols
	ds.Rows = p.rows
	ds.Loaded = true
	return false, nil
}

// Release drops the columns of a loaded dataset and returns its bytes to
// the reader's budget.
func (r *Reader) Release(ds *profile.Dataset) {
	lock()
	defer unlock()
	if p := r.plans[ds]; p != nil && ds.Loaded {
		r.held -= p.loadedBytes()
		p.released = true
	}
	ds.Release()
}

// LoadAll loads every dataset of the file in walk order and returns how many
// failed (their Err says why).
func (r *Reader) LoadAll() (failed int) {
	for _, ds := range r.file.Datasets() {
		if r.Load(ds) != nil {
			failed++
		}
	}
	return failed
}

// read performs the H5Dread calls for one dataset. Caller holds mu; read
// lets it go between blocks (the dataset's handles stay valid), so other
// files' reads interleave with a big one's.
func (r *Reader) read(ds *profile.Dataset, p *plan) ([]profile.Column, *profile.DatasetError) {
	var cols []profile.Column
	checkStored := p.direct != nil // inspect left the check to this read
	if p.direct != nil && p.rows > 0 && directOn.Load() {
		cols = newColumns(ds, p)
		// No libhdf5 call: other readers go on meanwhile.
		unlock()
		err := r.hdr.readDirect(p, cols)
		lock()
		if err == nil {
			return cols, nil
		}
		p.direct = nil // libhdf5 reads it (into the same columns), now and next time
	}
	did := C.H5Oopen_by_addr(r.fid, p.addr)
	if did < 0 {
		return nil, dsErr(profile.DatasetUnreadable, lastError("open %s", ds.Path()), "cannot open the dataset")
	}
	defer C.H5Oclose(did)
	if checkStored {
		if e := r.storedFits(did); e != nil {
			return nil, e
		}
	}
	fspace := C.H5Dget_space(did)
	if fspace < 0 {
		return nil, dsErr(profile.DatasetUnreadable, lastError("dataspace of %s", ds.Path()), "cannot read the dataspace")
	}
	defer C.H5Sclose(fspace)
	if !p.scalar && !p.null {
		dims, err := simpleDims(fspace)
		if err != nil || !slices.Equal(dims, p.dims) {
			return nil, dsErr(profile.DatasetUnreadable, err, "dataspace changed since the walk")
		}
	}

	if p.cols == 0 { // an N-D dataset with a zero trailing dimension
		return nil, nil
	}

	// Memory type: the numeric members as native u64/i64/f64, densely
	// packed in member order. HDF5 converts by member name; members not in
	// the memory type are skipped. When the file type is exactly this
	// (packed, 8-byte native members: Slurm's files) HDF5 copies without
	// conversion.
	var mtype C.hid_t
	if ds.Compound {
		mtype = C.H5Tcreate(C.H5T_COMPOUND, C.size_t(8*p.cols))
		if mtype < 0 {
			return nil, dsErr(profile.DatasetUnreadable, lastError("memory type for %s", ds.Path()), "cannot build the memory type")
		}
		defer C.H5Tclose(mtype)
		for j, name := range p.members {
			cname := C.CString(name)
			rc := C.H5Tinsert(mtype, cname, C.size_t(8*j), nativeType(p.kinds[j].kind))
			C.free(unsafe.Pointer(cname))
			if rc < 0 {
				return nil, dsErr(profile.DatasetUnreadable, lastError("memory type for %s", ds.Path()), "cannot build the memory type")
			}
		}
	} else {
		mtype = nativeType(p.kinds[0].kind)
	}

	if cols == nil {
		cols = newColumns(ds, p)
	}
	if p.rows == 0 {
		return cols, nil
	}
	if p.scalar {
		buf := make([]uint64, p.cols)
		if C.H5Dread(did, mtype, C.H5S_ALL, C.H5S_ALL, C.H5P_DEFAULT, unsafe.Pointer(&buf[0])) < 0 {
			return nil, dsErr(profile.DatasetUnreadable, lastError("read %s", ds.Path()), "cannot read the data")
		}
		scatter(cols, buf, 0, 1)
		return cols, nil
	}

	// Elements per row in the memory dataspace: 1 compound record, or the
	// product of the trailing dimensions.
	perRow := 1
	if !ds.Compound {
		perRow = p.cols
	}
	rank := len(p.dims)
	start := make([]C.hsize_t, rank)
	count := make([]C.hsize_t, rank)
	for i := 1; i < rank; i++ {
		count[i] = C.hsize_t(p.dims[i])
	}

	// HDF5's cost per H5Dread grows faster than linearly with the number
	// of chunks it touches, so rows are read in blocks of about blockBytes
	// made of whole chunks (each chunk is then read by exactly one call).
	// A single column is read straight into its slice; otherwise each block
	// goes through one buffer and is split into the columns.
	block := max(1, blockBytes/(8*p.cols))
	if p.chunk0 > 0 {
		block = max(p.chunk0, block-block%p.chunk0)
	}
	block = min(block, p.rows)
	var buf []uint64
	if p.cols > 1 {
		buf = make([]uint64, block*p.cols)
	}
	// A chunk may inflate to its declared size (plus deflate's own
	// overhead, for a pipeline that deflates twice), not more: so the
	// read holds the columns, one block and a chunk, whatever the file.
	if p.chunkB > 0 {
		defer C.bw_set_chunk_cap(C.size_t(r.opt.MaxChunkBytes))
	}
	for r0 := 0; r0 < p.rows; r0 += block {
		if p.chunkB > 0 { // the cap is global: set again after each pause below
			C.bw_set_chunk_cap(C.size_t(p.chunkB + p.chunkB>>11 + 64))
		}
		n := min(block, p.rows-r0)
		start[0], count[0] = C.hsize_t(r0), C.hsize_t(n)
		if C.H5Sselect_hyperslab(fspace, C.H5S_SELECT_SET, &start[0], nil, &count[0], nil) < 0 {
			return nil, dsErr(profile.DatasetUnreadable, lastError("select rows of %s", ds.Path()), "cannot select rows")
		}
		melems := C.hsize_t(n * perRow)
		mspace := C.H5Screate_simple(1, &melems, nil)
		if mspace < 0 {
			return nil, dsErr(profile.DatasetUnreadable, lastError("memory space for %s", ds.Path()), "cannot create the memory space")
		}
		var dst unsafe.Pointer
		if p.cols == 1 {
			dst = columnData(&cols[0], r0)
		} else {
			dst = unsafe.Pointer(&buf[0])
		}
		rc := C.H5Dread(did, mtype, mspace, fspace, C.H5P_DEFAULT, dst)
		if rc < 0 {
			err := lastError("read rows %d..%d of %s", r0, r0+n-1, ds.Path())
			C.H5Sclose(mspace)
			if C.bw_chunk_overflowed() != 0 {
				return nil, dsErr(profile.DatasetTooLarge, ErrChunkInflates, "reading rows %d..%d (chunks of %d bytes)", r0, r0+n-1, p.chunkB)
			}
			return nil, dsErr(profile.DatasetUnreadable, err, "cannot read the data")
		}
		C.H5Sclose(mspace)
		// Other readers' calls go in between blocks (the lock is
		// process-wide, and a big dataset's read lasts seconds); the
		// split into columns needs no HDF5 call.
		unlock()
		if p.cols > 1 {
			scatter(cols, buf[:n*p.cols], r0, n)
		}
		lock()
	}
	return cols, nil
}

// newColumns allocates the columns of a dataset's plan.
func newColumns(ds *profile.Dataset, p *plan) []profile.Column {
	cols := make([]profile.Column, p.cols)
	for j := range cols {
		k := p.kinds[j]
		c := &cols[j]
		c.Name, c.Kind, c.Size = ds.Fields[j].Name, k.kind, k.size
		switch k.kind {
		case profile.Uint:
			c.U = make([]uint64, p.rows)
		case profile.Int:
			c.I = make([]int64, p.rows)
		default:
			c.F = make([]float64, p.rows)
		}
	}
	return cols
}

// columnData is the address of value i of a column.
func columnData(c *profile.Column, i int) unsafe.Pointer {
	switch c.Kind {
	case profile.Uint:
		return unsafe.Pointer(&c.U[i])
	case profile.Int:
		return unsafe.Pointer(&c.I[i])
	}
	return unsafe.Pointer(&c.F[i])
}

// scatter splits n rows of row-major 8-byte values into the columns,
// starting at row r0.
func scatter(cols []profile.Column, buf []uint64, r0, n int) {
	stride := len(cols)
	for j := range cols {
		c := &cols[j]
		switch c.Kind {
		case profile.Uint:
			dst := c.U[r0 : r0+n]
			for i := range dst {
				dst[i] = buf[i*stride+j]
			}
		case profile.Int:
			dst := c.I[r0 : r0+n]
			for i := range dst {
				dst[i] = int64(buf[i*stride+j])
			}
		default:
			dst := c.F[r0 : r0+n]
			for i := range dst {
				dst[i] = math.Float64frombits(buf[i*stride+j])
			}
		}
	}
}

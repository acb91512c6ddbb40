package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/benchwrap/backend/shared/profile"
)

// The direct chunk read: Go reads the chunks of the common datasets itself.
//
// Slurm writes its tables in chunks of 10 rows, and libhdf5 costs about
// 5 µs per chunk in H5Dread whatever the block of rows asked for (an index
// lookup, a filter call and a copy per chunk): 1.3 s for a 2,000,000-row
// table, most of an analysis. A rank-1 dataset whose chunks are indexed
// by a version 1 B-tree (layout messages 1 to 3: Slurm's and h5py's
// default), filtered by deflate or not at all, and whose columns are
// stored exactly as the reader's memory types (little-endian 8-byte
// integers, IEEE doubles) is read here instead: the B-tree is walked from
// the file, each leaf's chunks read with one read call where they sit
// together, inflated and split into the columns. It needs no libhdf5 call,
// so it runs without the package lock, beside other files' reads.
//
// Every chunk must be where the index says, inside the file, inflate to
// exactly its declared size, with each chunk of the dataset present once.
// Anything else (a missing chunk libhdf5 would fill, a corrupt node, a
// stream that ends early) makes the read give up, and the dataset is read
// by libhdf5 as before, with its checks and its error messages: the
// direct read never decides that a file is bad, and never reads more than
// a chunk's declared size or a node's declared entries.

// Direct reads done, and whether they are tried (off: libhdf5 reads
// everything), for the tests that compare both.
var (
	directReads atomic.Int64
	directOn    atomic.Bool
)

func init() { directOn.Store(true) }

// directPlan is what the direct read needs, from inspect.
type directPlan struct {
	btree   uint64 // the chunk index: a version 1 B-tree of raw data chunks
	keyDims int    // dimensions of a chunk key (the rank plus the element)
	chunk0  uint64 // rows per chunk
	elem    int    // bytes per row (element)
	deflate bool
	offs    []int // per column: its byte offset in the element
}

// newDirectPlan returns the direct plan of a rank-1 chunked dataset, or
// nil when its layout is not one the direct read handles.
func newDirectPlan(info objectInfo, p *plan, elemSize uint64, deflate bool, offs []int) *directPlan {
	d := info.chunkDims
	if info.chunkIndex == 0 || info.chunkIndex == undefAddr || len(d) != 2 || d[1] != elemSize ||
		d[0] == 0 || d[0] != uint64(p.chunk0) || uint64(p.chunk0)*elemSize != p.chunkB || len(offs) != p.cols {
		return nil
	}
	for _, o := range offs {
		if o < 0 || uint64(o)+8 > elemSize {
			return nil
		}
	}
	return &directPlan{btree: info.chunkIndex, keyDims: 2, chunk0: d[0], elem: int(elemSize), deflate: deflate, offs: offs}
}

// errGiveUp ends a direct read: libhdf5 reads the dataset instead.
var errGiveUp = errors.New("direct read gave up")

// chunkRef is one chunk as the B-tree records it.
type chunkRef struct {
	addr uint64 // relative to the superblock
	size uint64 // stored bytes
	mask uint32 // filters skipped for this chunk
	row  uint64 // first row
}

// parallelRows is the size from which a direct read splits its chunks
// between two goroutines (the other core is otherwise idle while a file
// is read). A variable for the tests.
var parallelRows uint64 = 1 << 17

// readDirect fills cols (allocated for p.rows rows) from the dataset's
// chunks. An error (errGiveUp, or a read error of the file) means the
// columns are not filled and libhdf5 must read the dataset.
func (h *headerReader) readDirect(p *plan, cols []profile.Column) error {
	d := p.direct
	rows := uint64(p.rows)
	nchunks := (rows + d.chunk0 - 1) / d.chunk0
	sh := &directShared{h: h, d: d, cols: cols, rows: rows, seen: make([]uint64, (nchunks+63)/64), maxNodes: nchunks + 64}
	var leaves []uint64
	if err := sh.walk(d.btree, -1, &leaves); err != nil {
		return err
	}
	parts := 1
	if rows >= parallelRows && len(leaves) >= 2 {
		parts = 2
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		part := leaves[len(leaves)*i/parts : len(leaves)*(i+1)/parts]
		wg.Go(func() {
			rd := &directRead{directShared: sh, chunk: make([]byte, d.chunk0*uint64(d.elem))}
			for _, addr := range part {
				_, refs, err := sh.node(addr, 0)
				if err == nil {
					err = rd.leaf(refs)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if found := sh.found.Load(); found != nchunks {
		return fmt.Errorf("%w: %d of %d chunks indexed", errGiveUp, found, nchunks)
	}
	directReads.Add(1)
	return nil
}

// directShared is the state of one direct read its goroutines share.
type directShared struct {
	h     *headerReader
	d     *directPlan
	cols  []profile.Column // each chunk's rows are written by one goroutine
	rows  uint64
	seen  []uint64 // bitmap of the chunks met (atomic)
	found atomic.Uint64
	// nodes visited, bounded: a B-tree whose nodes share children cannot
	// make the walk longer than one visit per chunk.
	nodes    atomic.Uint64
	maxNodes uint64
}

// directRead is one goroutine's part of a direct read.
type directRead struct {
	*directShared
	span  []byte // a leaf's chunks, read at once
	chunk []byte // one inflated chunk
	zr    io.ReadCloser
	src   bytes.Reader
}

// walk lists the leaves of the B-tree under the node at addr, whose level
// must be level (-1 for the root), in key order. The leaves themselves are
// read by node when their chunks are.
func (sh *directShared) walk(addr uint64, level int, leaves *[]uint64) error {
	if level == 0 {
		*leaves = append(*leaves, addr)
		return nil
	}
	lvl, refs, err := sh.node(addr, level)
	if err != nil {
		return err
	}
	if lvl == 0 { // the root is the only leaf (read again with its chunks)
		*leaves = append(*leaves, addr)
		return nil
	}
	for _, c := range refs {
		if err := sh.walk(c.addr, lvl-1, leaves); err != nil {
			return err
		}
	}
	return nil
}

// node reads the B-tree node at addr, whose level must be level (-1 for
// the root: any): its level and entries (chunks for a leaf, children for
// an inner node).
func (sh *directShared) node(addr uint64, level int) (int, []chunkRef, error) {
	if sh.nodes.Add(1) > sh.maxNodes {
		return 0, nil, fmt.Errorf("%w: chunk index has more nodes than chunks", errGiveUp)
	}
	h := sh.h
	so := h.sb.offSize
	head := h.block(addr, uint64(8+2*so))
	if head == nil || string(head[:4]) != "TREE" || head[4] != 1 {
		return 0, nil, fmt.Errorf("%w: chunk index node at %d unreadable", errGiveUp, addr)
	}
	lvl := int(head[5])
	if level >= 0 && lvl != level {
		return 0, nil, fmt.Errorf("%w: chunk index node at %d at level %d, expected %d", errGiveUp, addr, lvl, level)
	}
	entries := int(binary.LittleEndian.Uint16(head[6:]))
	keySize := 8 + 8*sh.d.keyDims
	size := 8 + 2*so + (entries+1)*keySize + entries*so
	b := h.block(addr, uint64(size))
	if b == nil {
		return 0, nil, fmt.Errorf("%w: chunk index node at %d outside the file", errGiveUp, addr)
	}
	refs := make([]chunkRef, entries)
	pos := 8 + 2*so
	for i := range refs {
		k := b[pos:]
		refs[i] = chunkRef{size: uint64(binary.LittleEndian.Uint32(k)), mask: binary.LittleEndian.Uint32(k[4:]),
			row: binary.LittleEndian.Uint64(k[8:])}
		if binary.LittleEndian.Uint64(k[16:]) != 0 { // the element dimension's offset
			return 0, nil, fmt.Errorf("%w: chunk key with an offset in the element", errGiveUp)
		}
		refs[i].addr, _ = h.uint(b[pos+keySize:], so)
		pos += keySize + so
	}
	return lvl, refs, nil
}

// leaf reads a leaf's chunks: with one read when they lie close together
// (chunks written in order), else one by one.
func (rd *directRead) leaf(refs []chunkRef) error {
	if len(refs) == 0 {
		return nil
	}
	byAddr := refs
	if !sort.SliceIsSorted(refs, func(i, j int) bool { return refs[i].addr < refs[j].addr }) {
		byAddr = append([]chunkRef(nil), refs...)
		sort.Slice(byAddr, func(i, j int) bool { return byAddr[i].addr < byAddr[j].addr })
	}
	var stored uint64
	lo, hi := byAddr[0].addr, uint64(0)
	for _, c := range byAddr {
		if c.size == 0 || c.size > maxBlockBytes || c.addr > math.MaxUint64-c.size {
			return fmt.Errorf("%w: chunk of %d bytes", errGiveUp, c.size)
		}
		stored += c.size
		hi = max(hi, c.addr+c.size)
	}
	if span := hi - lo; span <= 2*stored+4096 && span <= maxBlockBytes {
		if uint64(cap(rd.span)) < span {
			rd.span = make([]byte, span)
		}
		buf := rd.span[:span]
		if !rd.h.readAt(buf, lo) {
			return fmt.Errorf("%w: chunks at %d..%d outside the file", errGiveUp, lo, hi)
		}
		for _, c := range byAddr {
			if err := rd.chunkAt(c, buf[c.addr-lo:c.addr-lo+c.size]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range byAddr {
		b := rd.h.block(c.addr, c.size)
		if b == nil {
			return fmt.Errorf("%w: chunk at %d outside the file", errGiveUp, c.addr)
		}
		if err := rd.chunkAt(c, b); err != nil {
			return err
		}
	}
	return nil
}

// chunkAt decodes one chunk's stored bytes into the columns.
func (rd *directRead) chunkAt(c chunkRef, stored []byte) error {
	d := rd.d
	if c.row%d.chunk0 != 0 || c.row >= rd.rows {
		return fmt.Errorf("%w: chunk at row %d", errGiveUp, c.row)
	}
	// Claimed before its rows are written: a chunk indexed twice has its
	// rows written once, and the read gives up.
	i := c.row / d.chunk0
	if atomic.OrUint64(&rd.seen[i/64], 1<<(i%64))&(1<<(i%64)) != 0 {
		return fmt.Errorf("%w: chunk at row %d indexed twice", errGiveUp, c.row)
	}
	rd.found.Add(1)

	data := stored
	switch {
	case d.deflate && c.mask&1 == 0:
		if c.mask != 0 {
			return fmt.Errorf("%w: filter mask %#x", errGiveUp, c.mask)
		}
		if err := rd.inflate(stored); err != nil {
			return err
		}
		data = rd.chunk
	case c.mask != 0 && !(d.deflate && c.mask == 1):
		return fmt.Errorf("%w: filter mask %#x", errGiveUp, c.mask)
	}
	if len(data) != len(rd.chunk) {
		return fmt.Errorf("%w: chunk of %d bytes, %d expected", errGiveUp, len(data), len(rd.chunk))
	}
	n := int(min(d.chunk0, rd.rows-c.row))
	r0 := int(c.row)
	for j := range rd.cols {
		col := &rd.cols[j]
		src := data[d.offs[j]:]
		switch col.Kind {
		case profile.Uint:
			dst := col.U[r0 : r0+n]
			for i := range dst {
				dst[i] = binary.LittleEndian.Uint64(src[i*d.elem:])
			}
		case profile.Int:
			dst := col.I[r0 : r0+n]
			for i := range dst {
				dst[i] = int64(binary.LittleEndian.Uint64(src[i*d.elem:]))
			}
		default:
			dst := col.F[r0 : r0+n]
			for i := range dst {
				dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(src[i*d.elem:]))
			}
		}
	}
	return nil
}

// inflate decodes a zlib stream into rd.chunk, which it must fill exactly
// (checksum included): never more than the chunk's size is produced.
func (rd *directRead) inflate(stored []byte) error {
	rd.src.Reset(stored)
	var err error
	if rd.zr == nil {
		rd.zr, err = zlib.NewReader(&rd.src)
	} else {
		err = rd.zr.(zlib.Resetter).Reset(&rd.src, nil)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errGiveUp, err)
	}
	if _, err := io.ReadFull(rd.zr, rd.chunk); err != nil {
		return fmt.Errorf("%w: inflate: %w", errGiveUp, err)
	}
	var one [1]byte
	if n, err := rd.zr.Read(one[:]); n != 0 || err != io.EOF {
		return fmt.Errorf("%w: chunk inflates beyond %d bytes or fails its checksum", errGiveUp, len(rd.chunk))
	}
	return nil
}

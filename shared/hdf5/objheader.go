package hdf5

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
)

// Go-side checks of object headers, run before libhdf5 opens an object.
//
// libhdf5 1.10.8 trusts some decoded fields it later divides by or
// allocates: a chunked layout message with a zero chunk dimension makes
// H5Dopen divide by zero (SIGFPE, the process dies), and a corrupt element
// size in it makes H5Dread allocate gigabytes per chunk. Such messages are
// found here by reading the object header (version 1 or 2, with its
// continuation blocks) directly from the file. The parser is lenient with
// message contents: anything it does not understand is left to libhdf5;
// it refuses headers outside the file and messages known to crash the
// library.

const (
	msgFillOld      = 0x0004
	msgFill         = 0x0005
	msgLayout       = 0x0008
	msgContinuation = 0x0010
	msgSymbolTable  = 0x0011
	maxStabNodes    = 1 << 20
	maxHeaderBlocks = 64
	maxBlockBytes   = 1 << 20
)

// errCrashy marks an object header libhdf5 must not be given;
// errBigChunk one whose chunks exceed Options.MaxChunkBytes.
var (
	errCrashy   = errors.New("object header rejected before libhdf5 reads it")
	errBigChunk = errors.New("chunks too large")
	errVirtual  = errors.New("virtual dataset")
)

type headerReader struct {
	f        io.ReaderAt
	sb       superblock
	maxChunk uint64 // Options.MaxChunkBytes
}

func newHeaderReader(path string, sb superblock, maxChunk int64) (*headerReader, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return &headerReader{f: f, sb: sb, maxChunk: uint64(maxChunk)}, f, nil
}

// block reads n bytes at relative address addr, or returns nil when they are
// not all inside the file.
func (h *headerReader) block(addr, n uint64) []byte {
	if n == 0 || n > maxBlockBytes || addr == undefAddr {
		return nil
	}
	b := make([]byte, n)
	if !h.readAt(b, addr) {
		return nil
	}
	return b
}

// readAt fills b from relative address addr, false when not all of it is
// inside the file.
func (h *headerReader) readAt(b []byte, addr uint64) bool {
	n := uint64(len(b))
	abs := uint64(h.sb.base) + addr
	if abs < addr || abs > uint64(h.sb.size) || n > uint64(h.sb.size)-abs {
		return false
	}
	_, err := h.f.ReadAt(b, int64(abs))
	return err == nil
}

func (h *headerReader) uint(b []byte, size int) (uint64, bool) {
	if len(b) < size {
		return 0, false
	}
	switch size {
	case 1:
		return uint64(b[0]), true
	case 2:
		return uint64(binary.LittleEndian.Uint16(b)), true
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), true
	case 8:
		return binary.LittleEndian.Uint64(b), true
	}
	return 0, false
}

// pending is a continuation block still to read.
type pending struct {
	addr, n uint64
}

type headerMsg struct {
	typ  int
	data []byte
}

// messages returns the messages of the object header at addr, following
// continuation blocks. A header that is not inside the file, or has an
// unknown version, is an error: libhdf5 reads it anyway, and reads at
// addresses past the end of the file have crashed its metadata
// accumulator.
func (h *headerReader) messages(addr uint64) ([]headerMsg, error) {
	prefix := h.block(addr, 16)
	if prefix == nil {
		return nil, fmt.Errorf("object header address %d outside the file", addr)
	}
	var out []headerMsg
	var queue []pending
	seen := map[uint64]bool{}
	v2 := string(prefix[:4]) == "OHDR"
	var attrOrder bool
	// First block.
	switch {
	case prefix[0] == 1 && !v2:
		size, _ := h.uint(prefix[8:], 4)
		b := h.block(addr+16, size)
		if b == nil && size > 0 {
			return nil, fmt.Errorf("object header at %d: %d bytes past the end of the file", addr, size)
		}
		out, queue = h.parseV1(b, out, queue)
	case v2 && prefix[4] == 2:
		flags := prefix[5]
		attrOrder = flags&0x04 != 0
		pos := uint64(6)
		if flags&0x20 != 0 {
			pos += 16
		}
		if flags&0x10 != 0 {
			pos += 4
		}
		width := 1 << (flags & 3)
		head := h.block(addr, pos+uint64(width))
		if head == nil {
			return nil, fmt.Errorf("object header at %d past the end of the file", addr)
		}
		size, _ := h.uint(head[pos:], width)
		b := h.block(addr+pos+uint64(width), size+4)
		if b == nil {
			return nil, fmt.Errorf("object header at %d: %d bytes past the end of the file", addr, size)
		}
		out, queue = h.parseV2(b[:size], attrOrder, out, queue)
	default:
		return nil, fmt.Errorf("object header at %d: unknown version", addr)
	}
	for blocks := 0; len(queue) > 0; blocks++ {
		if blocks >= maxHeaderBlocks {
			return nil, fmt.Errorf("object header at %d: more than %d continuation blocks", addr, maxHeaderBlocks)
		}
		c := queue[0]
		queue = queue[1:]
		if seen[c.addr] {
			continue
		}
		seen[c.addr] = true
		b := h.block(c.addr, c.n)
		if b == nil {
			return nil, fmt.Errorf("object header continuation (%d bytes at %d) outside the file", c.n, c.addr)
		}
		if v2 {
			if len(b) < 8 || string(b[:4]) != "OCHK" {
				return nil, fmt.Errorf("object header continuation at %d: bad signature", c.addr)
			}
			out, queue = h.parseV2(b[4:len(b)-4], attrOrder, out, queue)
		} else {
			out, queue = h.parseV1(b, out, queue)
		}
	}
	return out, nil
}

func (h *headerReader) continuation(data []byte) (uint64, uint64, bool) {
	a, ok1 := h.uint(data, h.sb.offSize)
	n, ok2 := h.uint(data[min(len(data), h.sb.offSize):], h.sb.lenSize)
	return a, n, ok1 && ok2
}

func (h *headerReader) parseV1(b []byte, out []headerMsg, q []pending) ([]headerMsg, []pending) {
	for pos := 0; pos+8 <= len(b); {
		typ := int(binary.LittleEndian.Uint16(b[pos:]))
		size := int(binary.LittleEndian.Uint16(b[pos+2:]))
		if pos+8+size > len(b) {
			break
		}
		data := b[pos+8 : pos+8+size]
		out = append(out, headerMsg{typ, data})
		if typ == msgContinuation {
			if a, n, ok := h.continuation(data); ok {
				q = append(q, pending{a, n})
			}
		}
		pos += 8 + size
	}
	return out, q
}

func (h *headerReader) parseV2(b []byte, attrOrder bool, out []headerMsg, q []pending) ([]headerMsg, []pending) {
	hdr := 4
	if attrOrder {
		hdr = 6
	}
	for pos := 0; pos+hdr <= len(b); {
		typ := int(b[pos])
		size := int(binary.LittleEndian.Uint16(b[pos+1:]))
		if pos+hdr+size > len(b) {
			break
		}
		data := b[pos+hdr : pos+hdr+size]
		out = append(out, headerMsg{typ, data})
		if typ == msgContinuation {
			if a, n, ok := h.continuation(data); ok {
				q = append(q, pending{a, n})
			}
		}
		pos += hdr + size
	}
	return out, q
}

// objectInfo is what checkObject learned about an object header.
type objectInfo struct {
	dataset   bool   // has a layout message
	chunkElem uint64 // element size recorded in a chunked layout (versions 1-3), 0 if none
	// A version 1-3 chunked layout's chunk index (a version 1 B-tree) and
	// chunk dimensions (the last one the element size); 0 and nil if none.
	chunkIndex uint64
	chunkDims  []uint64
}

// checkObject returns an error wrapping errCrashy when the object header at
// addr holds a message known to crash libhdf5.
func (h *headerReader) checkObject(addr uint64) (info objectInfo, err error) {
	if h == nil {
		return info, nil
	}
	msgs, err := h.messages(addr)
	if err != nil {
		return info, fmt.Errorf("%w: %w", errCrashy, err)
	}
	for _, m := range msgs {
		switch m.typ {
		case msgLayout:
			info.dataset = true
			if err := h.checkLayout(m.data); err != nil {
				return info, fmt.Errorf("%w: %w", errCrashy, err)
			}
			info.chunkElem = h.layoutElemSize(m.data)
			info.chunkIndex, info.chunkDims = h.layoutChunkIndex(m.data)
		case msgSymbolTable:
			if err := h.checkSymbolTable(m.data); err != nil {
				return info, fmt.Errorf("%w: %w", errCrashy, err)
			}
		case msgFill, msgFillOld:
			if err := checkFill(m.typ, m.data); err != nil {
				info.dataset = true
				return info, fmt.Errorf("%w: %w", errCrashy, err)
			}
		}
	}
	return info, nil
}

// layoutChunkIndex is the B-tree address and the chunk dimensions of a
// version 1-3 chunked layout message (versions 1-3 index chunks with a
// version 1 B-tree only).
func (h *headerReader) layoutChunkIndex(d []byte) (uint64, []uint64) {
	var ndims, at int
	switch {
	case len(d) >= 8 && (d[0] == 1 || d[0] == 2) && d[2] == 2:
		ndims, at = int(d[1]), 8
	case len(d) >= 3 && d[0] == 3 && d[1] == 2:
		ndims, at = int(d[2]), 3
	default:
		return 0, nil
	}
	pos := at + h.sb.offSize
	if ndims == 0 || pos+4*ndims > len(d) {
		return 0, nil
	}
	addr, _ := h.uint(d[at:], h.sb.offSize)
	dims := make([]uint64, ndims)
	for i := range dims {
		dims[i] = uint64(binary.LittleEndian.Uint32(d[pos+4*i:]))
	}
	return addr, dims
}

// layoutElemSize is the last chunk dimension of a version 1-3 chunked
// layout message: the element size libhdf5 sizes chunk buffers with.
func (h *headerReader) layoutElemSize(d []byte) uint64 {
	var ndims, pos int
	switch {
	case len(d) >= 8 && (d[0] == 1 || d[0] == 2) && d[2] == 2:
		ndims, pos = int(d[1]), 8+h.sb.offSize
	case len(d) >= 3 && d[0] == 3 && d[1] == 2:
		ndims, pos = int(d[2]), 3+h.sb.offSize
	default:
		return 0
	}
	end := pos + 4*ndims
	if ndims == 0 || end > len(d) {
		return 0
	}
	return uint64(binary.LittleEndian.Uint32(d[end-4:]))
}

// checkFill refuses a fill value message whose value is longer than the
// message (libhdf5 copies the declared size).
func checkFill(typ int, d []byte) error {
	var at int
	switch {
	case typ == msgFillOld:
		at = 0
	case len(d) < 1:
		return nil
	case d[0] == 1 || d[0] == 2:
		if len(d) < 4 || d[3] == 0 { // no fill value defined
			return nil
		}
		at = 4
	case d[0] == 3:
		if len(d) < 2 || d[1]&0x20 == 0 {
			return nil
		}
		at = 2
	default:
		return nil
	}
	if len(d) < at+4 {
		return nil
	}
	size := uint64(binary.LittleEndian.Uint32(d[at:]))
	if size > uint64(len(d)-at-4) {
		return fmt.Errorf("fill value of %d bytes in a %d-byte message", size, len(d))
	}
	return nil
}

// checkSymbolTable validates an old-style group (Slurm's): its local heap
// and every node of its v1 B-tree must lie inside the file, with sane
// counts and name offsets. libhdf5 reads nodes at whatever address a
// parent or the symbol table message names, and an undefined or
// out-of-file address makes its metadata accumulator copy out of bounds.
func (h *headerReader) checkSymbolTable(d []byte) error {
	so, sl := h.sb.offSize, h.sb.lenSize
	btree, ok1 := h.uint(d, so)
	heapAddr, ok2 := h.uint(d[min(len(d), so):], so)
	if !ok1 || !ok2 {
		return nil
	}
	heap := h.block(heapAddr, uint64(8+2*sl+so))
	if heap == nil || string(heap[:4]) != "HEAP" {
		return fmt.Errorf("local heap at %d unreadable", heapAddr)
	}
	heapSize, _ := h.uint(heap[8:], sl)
	dataAddr, _ := h.uint(heap[8+2*sl:], so)
	if heapSize > 0 && h.block(dataAddr, heapSize) == nil {
		return fmt.Errorf("local heap data (%d bytes at %d) outside the file", heapSize, dataAddr)
	}
	nodeK, leafK := uint64(h.sb.nodeK), uint64(h.sb.leafK)
	nodeSize := uint64(8+2*so) + (2*nodeK+1)*uint64(sl) + 2*nodeK*uint64(so)
	entrySize := uint64(2*so + 24)
	snodSize := 8 + 2*leafK*entrySize
	type node struct {
		addr  uint64
		level int
	}
	queue := []node{{btree, -1}}
	seen := map[uint64]bool{}
	for n := 0; len(queue) > 0; n++ {
		if n > maxStabNodes {
			return errors.New("symbol table B-tree too large")
		}
		nd := queue[0]
		queue = queue[1:]
		if seen[nd.addr] {
			return fmt.Errorf("B-tree node %d reached twice", nd.addr)
		}
		seen[nd.addr] = true
		b := h.block(nd.addr, nodeSize)
		if b == nil || string(b[:4]) != "TREE" || b[4] != 0 {
			return fmt.Errorf("B-tree node at %d unreadable", nd.addr)
		}
		level := int(b[5])
		entries := uint64(binary.LittleEndian.Uint16(b[6:]))
		if entries > 2*nodeK || (nd.level >= 0 && level != nd.level) {
			return fmt.Errorf("B-tree node at %d inconsistent", nd.addr)
		}
		pos := uint64(8 + 2*so)
		for i := uint64(0); i <= entries; i++ {
			key, _ := h.uint(b[pos:], sl)
			if key >= max(heapSize, 1) {
				return fmt.Errorf("B-tree key %d outside the local heap", key)
			}
			pos += uint64(sl)
			if i == entries {
				break
			}
			child, _ := h.uint(b[pos:], so)
			pos += uint64(so)
			if level > 0 {
				queue = append(queue, node{child, level - 1})
				continue
			}
			sn := h.block(child, snodSize)
			if sn == nil || string(sn[:4]) != "SNOD" {
				return fmt.Errorf("symbol table node at %d unreadable", child)
			}
			nsym := uint64(binary.LittleEndian.Uint16(sn[6:]))
			if nsym > 2*leafK {
				return fmt.Errorf("symbol table node at %d holds %d symbols", child, nsym)
			}
			for k := uint64(0); k < nsym; k++ {
				e := sn[8+k*entrySize:]
				name, _ := h.uint(e, so)
				obj, _ := h.uint(e[so:], so)
				if name >= max(heapSize, 1) || obj == undefAddr || obj >= h.sb.eof-uint64(h.sb.base) {
					return fmt.Errorf("symbol %d of node %d points outside the file", k, child)
				}
			}
		}
	}
	return nil
}

// checkLayout refuses a chunked layout with a zero or missing chunk
// dimension (format spec, "Data Layout Message", versions 1 to 4).
func (h *headerReader) checkLayout(d []byte) error {
	if len(d) < 2 {
		return nil
	}
	var ndims, width, pos int
	switch d[0] {
	case 1, 2:
		if len(d) < 8 || d[2] != 2 {
			return nil
		}
		ndims, width, pos = int(d[1]), 4, 8+h.sb.offSize
	case 3:
		if d[1] == 3 {
			return errVirtual // only version 4 has virtual layouts
		}
		if d[1] != 2 || len(d) < 3 {
			return nil
		}
		ndims, width, pos = int(d[2]), 4, 3+h.sb.offSize
	case 4:
		if d[1] == 3 {
			return errVirtual // decoding its mapping is itself crash-prone
		}
		if d[1] != 2 || len(d) < 5 {
			return nil
		}
		ndims, width, pos = int(d[3]), int(d[4]), 5
		if width < 1 || width > 8 {
			return fmt.Errorf("chunk dimension size of %d bytes", width)
		}
	default:
		return nil
	}
	if ndims == 0 {
		return errors.New("chunked layout without dimensions")
	}
	if pos+ndims*width > len(d) {
		return nil // truncated message: libhdf5 reports it
	}
	// The dimensions end with the element size (versions 1 to 3): libhdf5
	// allocates their product for each chunk it reads, without checking
	// it against the datatype, so the product is bounded here.
	total := uint64(1)
	for i := 0; i < ndims; i++ {
		var v uint64
		for k := width - 1; k >= 0; k-- {
			v = v<<8 | uint64(d[pos+i*width+k])
		}
		if v == 0 {
			return fmt.Errorf("chunk dimension %d is 0", i)
		}
		hi, lo := bits.Mul64(total, v)
		if hi != 0 || (h.maxChunk > 0 && lo > h.maxChunk) {
			return fmt.Errorf("%w: more than %d bytes", errBigChunk, h.maxChunk)
		}
		total = lo
	}
	return nil
}

package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/benchwrap/backend/shared/profile"
)

// The reasons match the original pipeline's skip reasons.
const (
	reasonEmpty      = "file is empty"
	reasonNotHDF5    = "not a valid HDF5 file"
	reasonUnreadable = "unreadable HDF5 (corrupted or truncated)"
)

var signature = []byte{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'}

const undefAddr = ^uint64(0)

// Precheck classifies a file without libhdf5: it returns the file size, or a
// *profile.FileError when the file is empty, has no HDF5 signature (at 0,
// 512, 1024, 2048, ... as HDF5 searches), or has a superblock that is
// inconsistent with the file (end-of-file address past the end: a
// truncated copy; root object outside the file; unknown version or field
// sizes). Open runs it before handing the file to libhdf5.
func Precheck(path string) (int64, error) {
	sb, err := precheck(path)
	return sb.size, err
}

// superblock holds what the Go-side checks need from the superblock.
type superblock struct {
	size    int64  // file size
	base    int64  // absolute offset of the superblock; addresses are relative to it
	offSize int    // bytes per address
	lenSize int    // bytes per length
	eof     uint64 // stored end of file (absolute)
	root    uint64 // root group object header address
	leafK   int    // symbol-table B-tree leaf K (symbols per node = 2K)
	nodeK   int    // symbol-table B-tree internal K (entries per node = 2K)
}

func precheck(path string) (superblock, error) {
	var sb superblock
	f, err := os.Open(path)
	if err != nil {
		return sb, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return sb, err
	}
	if !st.Mode().IsRegular() {
		return sb, &profile.FileError{Class: profile.FileNotHDF5, Reason: reasonNotHDF5,
			Err: fmt.Errorf("%s is not a regular file", path)}
	}
	size := st.Size()
	sb.size = size
	if size == 0 {
		return sb, &profile.FileError{Class: profile.FileEmpty, Reason: reasonEmpty}
	}
	sig := make([]byte, 8)
	at := int64(-1)
	for off := int64(0); off+8 <= size; {
		if _, err := f.ReadAt(sig, off); err != nil {
			return sb, err
		}
		if bytes.Equal(sig, signature) {
			at = off
			break
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	if at < 0 {
		return sb, &profile.FileError{Class: profile.FileNotHDF5, Reason: reasonNotHDF5,
			Err: errors.New("no HDF5 signature found")}
	}
	buf := make([]byte, 256)
	n, err := f.ReadAt(buf, at)
	if err != nil && !errors.Is(err, io.EOF) {
		return sb, err
	}
	parsed, err := checkSuperblock(buf[:n], at, size)
	if err != nil {
		return sb, &profile.FileError{Class: profile.FileUnreadable, Reason: reasonUnreadable, Err: err}
	}
	return parsed, nil
}

// checkSuperblock validates the fields of a superblock found at offset at
// of a file of size bytes (format spec, "Superblock" versions 0 to 3).
func checkSuperblock(b []byte, at, size int64) (superblock, error) {
	sb := superblock{size: size, base: at}
	short := errors.New("superblock extends past the end of the file")
	if len(b) < 9 {
		return sb, short
	}
	version := b[8]
	var so, sl int
	var pos int
	switch version {
	case 0, 1:
		if len(b) < 24 {
			return sb, short
		}
		so, sl = int(b[13]), int(b[14])
		sb.leafK = int(binary.LittleEndian.Uint16(b[16:]))
		sb.nodeK = int(binary.LittleEndian.Uint16(b[18:]))
		pos = 24
		if version == 1 {
			pos = 28
		}
	case 2, 3:
		if len(b) < 12 {
			return sb, short
		}
		so, sl = int(b[9]), int(b[10])
		pos = 12
	default:
		return sb, fmt.Errorf("unsupported superblock version %d", version)
	}
	if !validSize(so) || !validSize(sl) {
		return sb, fmt.Errorf("unsupported superblock field sizes (offsets %d, lengths %d bytes)", so, sl)
	}
	read := func() (uint64, bool) {
		if pos+so > len(b) {
			return 0, false
		}
		v := readUint(b[pos:pos+so], so)
		pos += so
		return v, true
	}
	var eof, root uint64
	var ok bool
	switch version {
	case 0, 1:
		// base, free-space info, end of file, driver info, then the root
		// group's symbol table entry (link name offset, object header).
		var vals [6]uint64
		for i := range vals {
			if vals[i], ok = read(); !ok {
				return sb, short
			}
		}
		eof, root = vals[2], vals[5]
	default:
		// base, superblock extension, end of file, root object header.
		var vals [4]uint64
		for i := range vals {
			if vals[i], ok = read(); !ok {
				return sb, short
			}
		}
		eof, root = vals[2], vals[3]
	}
	// The stored end of file is absolute (it counts a user block in
	// front of the superblock, as HDF5's own "truncated file" check
	// does); object addresses are relative to the superblock.
	if eof == undefAddr || eof <= uint64(at) {
		return sb, errors.New("superblock has no valid end-of-file address")
	}
	if eof > uint64(size) {
		return sb, fmt.Errorf("truncated file: superblock end of file is %d bytes, file has %d", eof, size)
	}
	if root == undefAddr || root >= eof-uint64(at) {
		return sb, fmt.Errorf("root group object header address %d outside the file (%d bytes)", root, eof)
	}
	sb.offSize, sb.lenSize, sb.eof, sb.root = so, sl, eof, root
	if sb.leafK == 0 || sb.nodeK == 0 { // version 2+: HDF5's defaults
		sb.leafK, sb.nodeK = 4, 16
	}
	return sb, nil
}

func validSize(n int) bool { return n == 2 || n == 4 || n == 8 }

func readUint(b []byte, n int) uint64 {
	switch n {
	case 2:
		v := uint64(binary.LittleEndian.Uint16(b))
		if v == 0xffff {
			return undefAddr
		}
		return v
	case 4:
		v := uint64(binary.LittleEndian.Uint32(b))
		if v == 0xffffffff {
			return undefAddr
		}
		return v
	}
	return binary.LittleEndian.Uint64(b)
}

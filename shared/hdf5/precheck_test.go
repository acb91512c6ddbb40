package hdf5

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

// sb0 builds a version 0 superblock (8-byte offsets) with the given end of
// file and root object header addresses.
func sb0(eof, root uint64) []byte {
	b := make([]byte, 96)
	copy(b, signature)
	b[13], b[14] = 8, 8
	binary.LittleEndian.PutUint64(b[24:], 0)         // base
	binary.LittleEndian.PutUint64(b[32:], undefAddr) // free space
	binary.LittleEndian.PutUint64(b[40:], eof)       // end of file
	binary.LittleEndian.PutUint64(b[48:], undefAddr) // driver info
	binary.LittleEndian.PutUint64(b[56:], 0)         // root link name offset
	binary.LittleEndian.PutUint64(b[64:], root)      // root object header
	return b
}

func sb2(version byte, eof, root uint64) []byte {
	b := make([]byte, 48)
	copy(b, signature)
	b[8], b[9], b[10] = version, 8, 8
	binary.LittleEndian.PutUint64(b[12:], 0)
	binary.LittleEndian.PutUint64(b[20:], undefAddr)
	binary.LittleEndian.PutUint64(b[28:], eof)
	binary.LittleEndian.PutUint64(b[36:], root)
	return b
}

func TestCheckSuperblock(t *testing.T) {
	v1 := sb0(1000, 96)
	v1[8] = 1
	v1 = append(v1[:24], append(make([]byte, 4), v1[24:]...)...) // v1 has 4 more bytes
	small := sb0(1000, 96)
	small[13], small[14] = 4, 4
	binary.LittleEndian.PutUint32(small[24:], 0)
	binary.LittleEndian.PutUint32(small[28:], 0xffffffff)
	binary.LittleEndian.PutUint32(small[32:], 1000)
	binary.LittleEndian.PutUint32(small[36:], 0xffffffff)
	binary.LittleEndian.PutUint32(small[40:], 0)
	binary.LittleEndian.PutUint32(small[44:], 96)
	odd := sb0(1000, 96)
	odd[13] = 3
	cases := []struct {
		name    string
		b       []byte
		at      int64
		size    int64
		wantErr string
	}{
		{"v0 ok", sb0(1000, 96), 0, 1000, ""},
		{"v0 truncated", sb0(1000, 96), 0, 999, "truncated"},
		{"v0 userblock", sb0(1512, 96), 512, 1512, ""},
		{"v0 root outside", sb0(1000, 1000), 0, 1000, "root group"},
		{"v0 root undefined", sb0(1000, undefAddr), 0, 1000, "root group"},
		{"v0 no eof", sb0(undefAddr, 96), 0, 1000, "end-of-file"},
		{"v0 short", sb0(1000, 96)[:40], 0, 1000, "past the end"},
		{"v0 bad sizes", odd, 0, 1000, "field sizes"},
		{"v0 4-byte offsets", small, 0, 1000, ""},
		{"v1 ok", v1, 0, 1000, ""},
		{"v2 ok", sb2(2, 500, 48), 0, 500, ""},
		{"v3 truncated", sb2(3, 5000, 48), 0, 500, "truncated"},
		{"v4", sb2(4, 500, 48), 0, 500, "version 4"},
		{"only signature", signature, 0, 8, "past the end"},
	}
	for _, c := range cases {
		_, err := checkSuperblock(c.b, c.at, c.size)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.wantErr)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.MaxRows != DefaultMaxRows || o.MaxBytes != DefaultMaxBytes || o.MaxColumns != DefaultMaxColumns || o.MaxDepth != DefaultMaxDepth {
		t.Errorf("%+v", o)
	}
	o = Options{MaxRows: 1 << 62, MaxBytes: 1 << 62}.withDefaults()
	if o.MaxRows != 1<<56 || o.MaxBytes != 1<<60 {
		t.Errorf("caps: %+v", o)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Op: "read /x", Stack: []StackEntry{
		{"H5Dread", "can't read data"}, {"H5D__read", "can't read data"},
		{"H5Z_pipeline", "filter returned failure during read"}, {"H5Z__filter_deflate", "inflate() failed"},
	}}
	want := "hdf5: read /x: H5Dread: can't read data: filter returned failure during read: inflate() failed"
	if e.Error() != want {
		t.Errorf("got  %q\nwant %q", e.Error(), want)
	}
	if (&Error{Op: "open"}).Error() != "hdf5: open" {
		t.Error("empty stack")
	}
}

func TestCheckLayout(t *testing.T) {
	h := &headerReader{sb: superblock{offSize: 8, lenSize: 8}, maxChunk: 1 << 20}
	v3 := func(dims ...uint32) []byte {
		b := []byte{3, 2, byte(len(dims))}
		b = append(b, make([]byte, 8)...) // chunk index address
		for _, d := range dims {
			b = binary.LittleEndian.AppendUint32(b, d)
		}
		return b
	}
	v4 := func(width byte, dims ...uint64) []byte {
		b := []byte{4, 2, 0, byte(len(dims)), width}
		for _, d := range dims {
			for k := 0; k < int(width); k++ {
				b = append(b, byte(d>>(8*k)))
			}
		}
		return append(b, 1) // index type, then more fields
	}
	cases := []struct {
		name string
		b    []byte
		err  string
	}{
		{"slurm chunk 10 of 24-byte records", v3(10, 24), ""},
		{"zero chunk dim", v3(0, 24), "is 0"},
		{"zero element size", v3(10, 0), "is 0"},
		{"huge element size", v3(10, 0xffffffff), "too large"},
		{"no dims", v3(), "without dimensions"},
		{"truncated", v3(10, 24)[:12], ""},
		{"contiguous v3", []byte{3, 1, 0, 0}, ""},
		{"v4 ok", v4(2, 10, 3, 8), ""},
		{"v4 zero", v4(2, 10, 0, 8), "is 0"},
		{"v4 bad width", v4(9, 10), "9 bytes"},
		{"v1 chunked zero", append([]byte{1, 2, 2, 0, 0, 0, 0, 0}, append(make([]byte, 8), 0, 0, 0, 0, 8, 0, 0, 0)...), "is 0"},
		{"unknown version", []byte{7, 2, 1}, ""},
	}
	for _, c := range cases {
		err := h.checkLayout(c.b)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}

func TestHeaderMessages(t *testing.T) {
	// A version 1 object header with a continuation block holding the
	// layout message; the layout has a zero chunk dimension.
	file := make([]byte, 512)
	binary.LittleEndian.PutUint64(file[0:], 0)
	hdr := file[100:]
	hdr[0] = 1
	binary.LittleEndian.PutUint16(hdr[2:], 2)
	binary.LittleEndian.PutUint32(hdr[8:], 24) // one continuation message (8 + 16)
	msg := hdr[16:]
	binary.LittleEndian.PutUint16(msg[0:], msgContinuation)
	binary.LittleEndian.PutUint16(msg[2:], 16)
	binary.LittleEndian.PutUint64(msg[8:], 300) // block address
	binary.LittleEndian.PutUint64(msg[16:], 40) // block length
	blk := file[300:]
	binary.LittleEndian.PutUint16(blk[0:], msgLayout)
	binary.LittleEndian.PutUint16(blk[2:], 24)
	copy(blk[8:], []byte{3, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 0, 0})
	h := &headerReader{f: bytesReaderAt(file), sb: superblock{size: int64(len(file)), offSize: 8, lenSize: 8}, maxChunk: 1 << 20}
	info, err := h.checkObject(100)
	if !info.dataset || err == nil || !strings.Contains(err.Error(), "chunk dimension 0 is 0") {
		t.Fatalf("info %+v err %v", info, err)
	}
	binary.LittleEndian.PutUint32(blk[8+11:], 10) // first chunk dimension 10
	if info, err := h.checkObject(100); !info.dataset || err != nil || info.chunkElem != 24 {
		t.Fatalf("valid header: %+v %v", info, err)
	}
	// A continuation block outside the file.
	binary.LittleEndian.PutUint64(msg[8:], 1<<30)
	if _, err := h.checkObject(100); err == nil {
		t.Fatal("continuation outside the file accepted")
	}
	if info, err := h.checkObject(1 << 40); info.dataset || err == nil {
		t.Fatalf("outside: %+v %v", info, err)
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Package hdf5 reads and writes Slurm job-profile HDF5 files
// (acct_gather_profile/hdf5 node-step files and sh5util-merged files) for
// the analysis pipelines. It is a thin adapter over libhdf5: the reader
// uses a small cgo shim (HDF5's own type conversion through H5Dread with a
// memory type built here), the writer uses gonum.org/v1/hdf5.
//
// Every HDF5 call made by this package runs under one package-level mutex,
// with the calling goroutine locked to its OS thread and HDF5's automatic
// error printing turned off for that thread. Errors are taken from HDF5's
// error stack and returned as *Error values with context.
//
// Robustness: before libhdf5 sees a file, Go code checks the signature and
// the superblock (a truncated copy is refused), and before an object is
// opened, its header (a chunked layout with a zero dimension makes libhdf5
// divide by zero). Iteration uses paths that avoid libhdf5 1.10.8's table
// bugs for corrupt compact/dense links and attributes, compound members are
// bounds-checked and compact/contiguous storage sizes are checked before
// H5Dread. Declared sizes are checked against Options before allocating.
// The common datasets (Slurm's: rank 1, a version 1 B-tree of chunks,
// deflate or no filter, 8-byte little-endian members) are read by Go
// itself, without libhdf5 (chunkread.go): each chunk bounded by its
// declared size, libhdf5 reading the dataset instead whenever anything is
// unexpected. libhdf5's reads go by blocks of rows through a bounded
// deflate filter that replaces libhdf5's (which grows its buffer until the
// stream ends): a chunk that inflates beyond its declared size stops the
// read (ErrChunkInflates), and filters that size their output from values
// in the file (szip, n-bit, scale-offset) are not read. So a read holds
// its columns, one block and one chunk, whatever the file.
// libhdf5 1.10.8 can still crash the process (SIGSEGV/abort) on some
// deliberately corrupted files, in its B-tree, local-heap and metadata
// decoding: run the reader in a child process where files come from
// untrusted users (see testdata/crashers).
package hdf5

/*
#cgo pkg-config: hdf5 zlib
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	gonum "gonum.org/v1/hdf5"
)

// mu serialises every HDF5 call of this package. (Debian's libhdf5 1.10.8 is
// actually configured thread-safe, with one global library lock, but its
// error stack and the automatic error printing are per thread; holding mu
// with the goroutine locked to its thread keeps an error and its stack
// together, and keeps the package correct on a non-thread-safe build.)
var mu sync.Mutex

func lock() {
	mu.Lock()
	runtime.LockOSThread()
	C.bw_quiet()
}

func unlock() {
	runtime.UnlockOSThread()
	mu.Unlock()
}

func init() {
	lock()
	defer unlock()
	if C.bw_init() < 0 {
		panic("hdf5: H5open failed")
	}
	// gonum's init already silenced the error printing of its own thread;
	// make sure it stays off there as well.
	_ = gonum.DisplayErrors(false)
}

// Error is an HDF5 failure with the operation that failed and HDF5's error
// stack (outermost API function first).
type Error struct {
	Op    string
	Stack []StackEntry
}

// StackEntry is one record of HDF5's error stack.
type StackEntry struct {
	Func string
	Desc string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hdf5: ")
	b.WriteString(e.Op)
	// Keep the API-level message and the two innermost causes; the middle
	// of the stack is HDF5's internal call chain.
	idx := make([]int, 0, 3)
	for i := range e.Stack {
		if i == 0 || i >= len(e.Stack)-2 {
			idx = append(idx, i)
		}
	}
	last := ""
	for _, i := range idx {
		d := e.Stack[i].Desc
		if d == "" || d == last {
			continue
		}
		b.WriteString(": ")
		if i == 0 && e.Stack[i].Func != "" {
			b.WriteString(e.Stack[i].Func)
			b.WriteString(": ")
		}
		b.WriteString(d)
		last = d
	}
	return b.String()
}

// lastError captures and clears the HDF5 error stack of the current thread.
// It must be called right after the failing call, before any other HDF5 API
// call (each one clears the stack on entry). Caller holds mu.
func lastError(format string, args ...any) *Error {
	e := &Error{Op: fmt.Sprintf(format, args...)}
	buf := make([]byte, 4096)
	n := C.bw_errstack((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	for _, rec := range strings.Split(string(buf[:n]), "\x1f") {
		if rec == "" {
			continue
		}
		fn, desc, _ := strings.Cut(rec, "\x1e")
		e.Stack = append(e.Stack, StackEntry{Func: fn, Desc: desc})
	}
	return e
}

// LibVersion returns the version of the linked libhdf5, e.g. "1.10.8".
func LibVersion() string {
	lock()
	defer unlock()
	var maj, min, rel C.uint
	if C.H5get_libversion(&maj, &min, &rel) < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", maj, min, rel)
}

package h1

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawIO does the socket I/O of a plain TCP connection with raw,
// non-blocking read and write system calls, driven by the runtime's
// network poller through syscall.RawConn. Compared with net.Conn this
// saves, per request, the read that would find no response yet right
// after the write, and the runtime's system-call bookkeeping (the P
// hand-offs that a slow loopback write provokes). The socket is
// non-blocking, so the raw calls never block.
type rawIO struct {
	nc net.Conn
	rc syscall.RawConn

	wbuf     []byte
	wrote    bool
	wpending bool
	werr     syscall.Errno

	rbuf []byte
	rn   int
	rerr syscall.Errno

	writeFn, readFn func(fd uintptr) bool
}

func newRawIO(nc net.Conn) *rawIO {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{nc: nc, rc: rc}
	r.writeFn = r.writeFD
	r.readFn = r.readFD
	return r
}

// writeFD writes the request on its first call and then asks the poller
// to wait for readability; called again once the response starts to
// arrive (or on a deadline), it returns at once.
func (r *rawIO) writeFD(fd uintptr) bool {
	if r.wrote {
		return true
	}
	for len(r.wbuf) > 0 {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&r.wbuf[0])), uintptr(len(r.wbuf)))
		switch e {
		case 0:
			r.wbuf = r.wbuf[n:]
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			r.wpending = true // send buffer full: finish with a blocking write
		default:
			r.werr = e
		}
		return true
	}
	r.wrote = true
	return false
}

// send writes b and waits until the response can be read. sent reports
// whether the request was written completely.
func (r *rawIO) send(b []byte) (sent bool, err error) {
	r.wbuf, r.wrote, r.wpending, r.werr = b, false, false, 0
	err = r.rc.Read(r.writeFn)
	switch {
	case r.werr != 0:
		return false, os.NewSyscallError("write", r.werr)
	case r.wpending:
		if _, err := r.nc.Write(r.wbuf); err != nil {
			return false, err
		}
		return true, nil
	}
	return r.wrote, err
}

func (r *rawIO) readFD(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rbuf[0])), uintptr(len(r.rbuf)))
		switch e {
		case 0:
			r.rn, r.rerr = int(n), 0
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			r.rn, r.rerr = 0, e
			return true
		}
	}
}

// Read implements io.Reader for the connection's bufio.Reader.
func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rbuf = p
	err := r.rc.Read(r.readFn)
	r.rbuf = nil
	switch {
	case err != nil:
		return 0, err
	case r.rerr != 0:
		return 0, os.NewSyscallError("read", r.rerr)
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

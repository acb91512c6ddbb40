//go:build !linux

package h1

import (
	"io"
	"net"
)

// rawIO is only implemented on Linux; elsewhere connections use net.Conn.
type rawIO struct{ io.Reader }

func newRawIO(net.Conn) *rawIO { return nil }

func (r *rawIO) send([]byte) (bool, error) { panic("unreachable") }

//go:build !linux

package pgwire

import (
	"io"
	"net"
)

// socketReader reads a connection's bytes for Rows; see socket_linux.go.
// Elsewhere every socket is read through Go's poller: the blocking reads
// and the bulk watermark are measured and tested on Linux only.
type socketReader interface {
	io.Reader
	interrupt()
	release()
}

func newSocketReader(nc net.Conn) socketReader { return &connReader{nc: nc} }

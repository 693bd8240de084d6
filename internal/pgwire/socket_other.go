//go:build !unix

package pgwire

import (
	"io"
	"net"
)

// socketReader reads a connection's bytes for Rows; see socket_unix.go.
type socketReader interface {
	io.Reader
	interrupt()
	release()
}

func newSocketReader(nc net.Conn) socketReader { return &connReader{nc: nc} }

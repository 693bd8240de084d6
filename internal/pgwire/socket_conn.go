package pgwire

import (
	"net"
	"time"
)

// connReader reads any net.Conn (TLS, or a platform without blocking
// socket reads) through Go's poller.
type connReader struct{ nc net.Conn }

func (c *connReader) Read(p []byte) (int, error) { return c.nc.Read(p) }

// interrupt sets a deadline in the past: the read in progress and every
// later one fail at once.
func (c *connReader) interrupt() { _ = c.nc.SetReadDeadline(time.Unix(1, 0)) }

func (c *connReader) release() {}

//go:build !linux

package stream

import (
	"net"
	"time"
)

// socketPeek is Linux only; elsewhere newSocketPeek returns nil and the
// producer sends the rows it holds as soon as the next row is not complete
// in pgx's buffer.
type socketPeek struct{}

func newSocketPeek(net.Conn) *socketPeek              { return nil }
func (*socketPeek) queued() int                       { return 0 }
func (*socketPeek) peek([]byte) int                   { return 0 }
func (*socketPeek) readableWithin(time.Duration) bool { return false }

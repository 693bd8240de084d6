package stream

import (
	"io"
	"runtime"
	"sync"
	"weak"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TrackArrivals makes connections built from cfg tell a stream whether a
// complete server message has arrived and waits in pgx's read buffer. The
// stream's producer then sends the rows it holds as soon as the next row
// is not complete yet, instead of waiting on the socket with them: rows
// reach the reader as the server sends them, however slowly.
//
// session.PoolConfig calls it. Without it a stream still sends what it holds
// when pgx's buffer is empty, but not when the buffer ends in part of a row
// (a server older than PostgreSQL 17 sends wide rows in 8 kB pieces, so a
// slow query's last row often arrives in part).
//
// Cost: a scan of each message's 5-byte header as pgx reads it, a few
// nanoseconds per message, no copy.
func TrackArrivals(cfg *pgconn.Config) {
	build := cfg.BuildFrontend
	if build == nil {
		build = pgproto3.NewFrontend
	}
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		a := &arrivals{r: r}
		fe := build(a, w)
		key := weak.Make(fe)
		trackers.Store(key, a)
		runtime.AddCleanup(fe, func(k weak.Pointer[pgproto3.Frontend]) { trackers.Delete(k) }, key)
		return fe
	}
}

// trackers maps a connection's Frontend to its arrivals. Weak keys: an
// entry goes when its connection is collected.
var trackers sync.Map // weak.Pointer[pgproto3.Frontend] -> *arrivals

func arrivalsOf(fe *pgproto3.Frontend) *arrivals {
	if a, ok := trackers.Load(weak.Make(fe)); ok {
		return a.(*arrivals)
	}
	return nil
}

// arrivals sits between pgx's read buffer and the socket and follows the
// message framing (a type byte and a 4-byte length that counts itself) of
// what pgx reads. Only the goroutine reading the connection touches it.
type arrivals struct {
	r        io.Reader
	total    int64 // bytes handed to pgx so far
	complete int64 // offset just past the last complete message handed to pgx
	hdr      [5]byte
	hn       int   // header bytes seen of the current message
	left     int64 // body bytes still to come of the current message
}

func (a *arrivals) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	a.scan(p[:n])
	return n, err
}

func (a *arrivals) scan(b []byte) {
	for len(b) > 0 {
		if a.left > 0 {
			k := min(a.left, int64(len(b)))
			a.left -= k
			a.total += k
			b = b[k:]
			if a.left == 0 {
				a.complete = a.total
			}
			continue
		}
		k := copy(a.hdr[a.hn:], b)
		a.hn += k
		a.total += int64(k)
		b = b[k:]
		if a.hn < len(a.hdr) {
			return
		}
		a.hn = 0
		size := int64(a.hdr[1])<<24 | int64(a.hdr[2])<<16 | int64(a.hdr[3])<<8 | int64(a.hdr[4])
		a.left = max(size-4, 0)
		if a.left == 0 {
			a.complete = a.total
		}
	}
}

// ready reports whether pgx holds a complete message it has not decoded
// yet, given how many bytes it holds unread: the next read will not wait.
func (a *arrivals) ready(buffered int) bool {
	return a.complete > a.total-int64(buffered)
}

// completedBy reports whether the next n bytes of the stream (queued in the
// kernel, not yet handed to pgx) complete the message pgx is in the middle
// of, or the next one when pgx is at a boundary. peek reads the first of
// those bytes without consuming them; it is needed only for a header.
func (a *arrivals) completedBy(n int, peek func([]byte) int) bool {
	if a.hn == 0 && a.left > 0 { // inside a body
		return int64(n) >= a.left
	}
	var hdr [5]byte // at a boundary, or inside a header
	copy(hdr[:], a.hdr[:a.hn])
	k := len(hdr) - a.hn
	if n < k || peek(hdr[a.hn:]) < k {
		return false
	}
	size := int64(hdr[1])<<24 | int64(hdr[2])<<16 | int64(hdr[3])<<8 | int64(hdr[4])
	return int64(n) >= int64(k)+max(size-4, 0)
}

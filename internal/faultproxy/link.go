package faultproxy

import (
	"net"
	"sync"
)

// pumpBuffer is how much one read moves: big enough that a result streams
// through in few reads, small enough to keep a stalled link's held bytes
// modest.
const pumpBuffer = 32 << 10

// link is one proxied connection: the client's socket, the server's, and a
// pump goroutine for each direction.
type link struct {
	p              *Proxy
	client, server net.Conn
	done           chan struct{} // closed by close: both pumps stop
	once           sync.Once

	fe frames // the client's messages; only the ToServer pump touches it
	be frames // the server's messages; only the ToClient pump touches it

	// Extended-protocol bookkeeping, ToServer pump only: statement and
	// portal names to their SQL, and whether an Execute since the last Sync
	// matched DropReplyTo.
	stmts, portals map[string]string
	pendingDrop    bool

	mu      sync.Mutex
	replies []bool // one per ReadyForQuery the server owes, in order: drop that reply?
	raw     int    // one-byte replies the server owes (to SSLRequest, GSSENCRequest)
	opaque  bool   // the link switched to TLS or is a cancel request: forward without parsing
	// dropping is the ToClient pump's: it is inside a reply being swallowed.
	dropping bool
}

func newLink(p *Proxy, client, server net.Conn) *link {
	return &link{
		p: p, client: client, server: server, done: make(chan struct{}),
		fe:    frames{untyped: true, collect: true},
		stmts: map[string]string{}, portals: map[string]string{},
	}
}

// close closes both sockets, which ends both pumps.
func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.client.Close()
		l.server.Close()
		l.p.forget(l)
	})
}

// pump copies one direction until either side fails or the link is closed.
func (l *link) pump(dir Direction) {
	defer l.p.wg.Done()
	defer l.close()
	src, dst := l.client, l.server
	if dir == ToClient {
		src, dst = l.server, l.client
	}
	buf := make([]byte, pumpBuffer)
	var out []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			var cut bool
			out, cut = l.filter(dir, buf[:n], out[:0])
			if !l.wait(dir) {
				return
			}
			allowed, overBudget := l.p.take(dir, len(out))
			if _, werr := dst.Write(out[:allowed]); werr != nil || cut || overBudget {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait blocks while dir is stalled; false when the link closed meanwhile.
func (l *link) wait(dir Direction) bool {
	for {
		g := l.p.gate(dir)
		select {
		case <-g:
			if isOpen(l.p.gate(dir)) { // not stalled again in between
				return true
			}
		case <-l.done:
			return false
		}
	}
}

// filter appends to out the bytes of b that go on, and reports whether the
// link must be cut after them (a dropped reply is complete).
func (l *link) filter(dir Direction, b, out []byte) ([]byte, bool) {
	l.mu.Lock()
	opaque := l.opaque
	l.mu.Unlock()
	if opaque {
		return append(out, b...), false
	}
	if dir == ToServer {
		l.fe.feed(b, l.onClientMessage)
		return append(out, b...), false
	}
	return l.filterServer(b, out)
}

// filterServer passes the server's bytes through, except the messages of a
// reply DropReplyTo chose, and cuts after that reply's ReadyForQuery.
func (l *link) filterServer(b, out []byte) ([]byte, bool) {
	for len(b) > 0 {
		if l.be.atStart() {
			l.mu.Lock()
			if l.raw > 0 { // the one-byte answer to SSLRequest/GSSENCRequest
				l.raw--
				c := b[0]
				l.opaque = c != 'N' // 'S' or 'G': encrypted from here on
				l.mu.Unlock()
				if c != 'N' {
					return append(out, b...), false
				}
				out, b = append(out, c), b[1:]
				continue
			}
			l.dropping = len(l.replies) > 0 && l.replies[0]
			l.mu.Unlock()
		}
		n, msg := l.be.step(b)
		if !l.dropping {
			out = append(out, b[:n]...)
		}
		b = b[n:]
		if msg != nil && msg.typ == 'Z' {
			l.mu.Lock()
			drop := len(l.replies) > 0 && l.replies[0]
			if len(l.replies) > 0 {
				l.replies = l.replies[1:]
			}
			l.mu.Unlock()
			if drop {
				return out, true
			}
		}
	}
	return out, false
}

// onClientMessage notes what the server will owe for one client message.
func (l *link) onClientMessage(m *message) {
	switch {
	case m.untyped:
		l.onStartup(m)
	case m.typ == 'Q':
		l.expectReply(l.p.matchDrop(cstring(m.body, 0)))
	case m.typ == 'P':
		name, rest := cstringAt(m.body, 0)
		l.stmts[name] = cstring(m.body, rest)
	case m.typ == 'B':
		portal, rest := cstringAt(m.body, 0)
		l.portals[portal] = l.stmts[cstring(m.body, rest)]
	case m.typ == 'E':
		if l.p.matchDrop(l.portals[cstring(m.body, 0)]) {
			l.pendingDrop = true
		}
	case m.typ == 'S':
		l.expectReply(l.pendingDrop)
		l.pendingDrop = false
	case m.typ == 'F':
		l.expectReply(false)
	}
}

// Startup-phase request codes (the protocol's fixed magic numbers).
const (
	codeCancel  = 80877102
	codeSSL     = 80877103
	codeGSSENC  = 80877104
	startupSize = 4 // bytes of the request code
)

func (l *link) onStartup(m *message) {
	if len(m.body) < startupSize {
		return
	}
	code := be32(m.body)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch code {
	case codeSSL, codeGSSENC:
		l.raw++ // then another startup message (or TLS)
	case codeCancel:
		l.opaque = true
	default: // StartupMessage: typed messages from now on; the server ends start-up with a ReadyForQuery
		l.fe.untyped = false
		l.replies = append(l.replies, false)
	}
}

func (l *link) expectReply(drop bool) {
	l.mu.Lock()
	l.replies = append(l.replies, drop)
	l.mu.Unlock()
}

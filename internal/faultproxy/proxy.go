package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Direction names which way bytes flow through the proxy.
type Direction int

const (
	// ToServer is the client's bytes on their way to the server.
	ToServer Direction = 1 << iota
	// ToClient is the server's bytes on their way to the client.
	ToClient
	// Both is both directions.
	Both = ToServer | ToClient
)

func (d Direction) String() string {
	switch d {
	case ToServer:
		return "to-server"
	case ToClient:
		return "to-client"
	case Both:
		return "both"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// dialTimeout bounds the proxy's own connection to the server: a test's
// server is local, so anything longer is a broken set-up.
const dialTimeout = 5 * time.Second

// Proxy forwards TCP connections from its listening address to one server
// and injects faults on command. Its methods are safe from any goroutine.
type Proxy struct {
	ln      net.Listener
	network string // the server's
	address string

	mu      sync.Mutex
	links   map[*link]struct{}
	accepts int                         // links accepted so far
	gates   map[Direction]chan struct{} // closed while the direction forwards
	budget  map[Direction]int64         // CutAfter: bytes still to forward, when armed
	drop    func(query string) bool     // DropReplyTo: armed until it matches once
	closed  bool

	wg sync.WaitGroup // the accept loop and every link's pumps
}

// New listens on a free port of 127.0.0.1 and forwards each connection to
// the server at network/address ("tcp", "host:port" or "unix", a socket
// path).
func New(network, address string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		ln: ln, network: network, address: address,
		links:  map[*link]struct{}{},
		gates:  map[Direction]chan struct{}{ToServer: openGate(), ToClient: openGate()},
		budget: map[Direction]int64{},
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// ForConfig is New with the server cfg connects to (its Host and Port; a
// Host that starts with "/" is a Unix socket directory).
func ForConfig(cfg *pgconn.Config) (*Proxy, error) {
	network, address := pgconn.NetworkAddress(cfg.Host, cfg.Port)
	return New(network, address)
}

// Redirect points cfg (and its fallbacks) at the proxy, without TLS.
func (p *Proxy) Redirect(cfg *pgconn.Config) {
	addr := p.ln.Addr().(*net.TCPAddr)
	cfg.Host, cfg.Port, cfg.TLSConfig = addr.IP.String(), uint16(addr.Port), nil
	cfg.Fallbacks = nil
}

// Host returns the proxy's listening IP address, "127.0.0.1".
func (p *Proxy) Host() string { return p.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the proxy's listening port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Addr returns the address the proxy listens on, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Links returns the number of links open now.
func (p *Proxy) Links() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Accepted returns how many connections the proxy has accepted so far
// (a pool that replaced a connection has made a new one).
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepts
}

// Cut closes every open link now, as a network failure would. New
// connections are still accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// CutAfter arms a cut: the proxy forwards n more bytes in direction dir
// (ToServer or ToClient, counted over all links), then closes the link that
// carries the byte after them. It fires once; a later call re-arms it.
func (p *Proxy) CutAfter(dir Direction, n int64) {
	if dir != ToServer && dir != ToClient {
		panic("faultproxy: CutAfter needs ToServer or ToClient, not " + dir.String())
	}
	if n < 0 {
		n = 0
	}
	p.mu.Lock()
	p.budget[dir] = n
	p.mu.Unlock()
}

// Stall stops forwarding in dir (ToServer, ToClient or Both) on every link,
// present and future, without closing anything: bytes wait in the proxy and
// then in the kernel's buffers, as on a dead network. Resume undoes it.
func (p *Proxy) Stall(dir Direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range []Direction{ToServer, ToClient} {
		if dir&d != 0 && isOpen(p.gates[d]) {
			p.gates[d] = make(chan struct{})
		}
	}
}

// Resume forwards again in every direction; stalled bytes go through in
// order.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range []Direction{ToServer, ToClient} {
		if !isOpen(p.gates[d]) {
			close(p.gates[d])
		}
	}
}

// DropReplyTo arms a lost reply: the next statement the client sends whose
// SQL text satisfies match has its whole reply swallowed (up to and
// including its ReadyForQuery), then its link is cut. The server has run
// the statement by then. It fires once; a later call re-arms it. match
// runs on the proxy's goroutine and must not call the proxy.
func (p *Proxy) DropReplyTo(match func(query string) bool) {
	p.mu.Lock()
	p.drop = match
	p.mu.Unlock()
}

// Query returns a matcher for DropReplyTo: the statement's text, trimmed
// and compared without case, equals one of stmts (for example "commit").
func Query(stmts ...string) func(string) bool {
	return func(q string) bool {
		q = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(q), ";"))
		for _, s := range stmts {
			if strings.EqualFold(q, s) {
				return true
			}
		}
		return false
	}
}

// Close stops accepting, closes every link and waits for every goroutine
// the proxy started. It returns nil, or the listener's close error.
func (p *Proxy) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	var err error
	if !already {
		err = p.ln.Close()
	}
	p.Cut()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed by Close (a test's loopback listener fails no other way)
		}
		s, err := net.DialTimeout(p.network, p.address, dialTimeout)
		if err != nil {
			c.Close()
			continue
		}
		l := newLink(p, c, s)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.links[l] = struct{}{}
		p.accepts++
		p.wg.Add(2)
		p.mu.Unlock()
		go l.pump(ToServer)
		go l.pump(ToClient)
	}
}

// gate returns the channel that is closed while dir forwards.
func (p *Proxy) gate(dir Direction) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gates[dir]
}

// take charges n bytes against dir's cut budget and returns how many may
// pass and whether the link must be cut after them.
func (p *Proxy) take(dir Direction, n int) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	left, armed := p.budget[dir]
	if !armed {
		return n, false
	}
	if int64(n) <= left {
		p.budget[dir] = left - int64(n)
		return n, false
	}
	delete(p.budget, dir)
	return int(left), true
}

// matchDrop reports whether query is the armed DropReplyTo statement, and
// disarms it when it is.
func (p *Proxy) matchDrop(query string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drop == nil || !p.drop(query) {
		return false
	}
	p.drop = nil
	return true
}

func (p *Proxy) forget(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

func openGate() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func isOpen(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

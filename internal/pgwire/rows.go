// Package pgwire reads a prepared statement's rows straight from a pgconn
// connection's socket, for a reader that only hands raw values on (the
// CLI's encoders): no pgx.Rows, no copy into blocks, no goroutine, no
// allocation per row. See Rows.
package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Rows are a prepared statement's rows, read straight from the
// connection's socket.
//
// Why not pgx.Rows or a stream: on two cores the client's CPU competes with
// the server's, and the stream (pgx's reader, a goroutine that copies rows
// into blocks, a channel) costs a narrow row about twice psql's whole COPY
// client (bench/README.md, "The CLI's own wire reader"). Here one goroutine
// reads the socket into one buffer, finds each DataRow's values in place
// and hands them to the encoder: no copy, no hand-off, no allocation per
// row. On a plain socket the reads block in the kernel (socketReader), so
// waiting for the server costs a sleep instead of Go's poller and a thread
// hand-off. The socket is drained whenever the encoder is not busy, and the
// buffer takes what the kernel holds in one read: a backend that finds the
// socket full sleeps and is woken per freed segment, which costs it more
// than the rows themselves (measured with pgconn's reader on one
// goroutine, 8 KiB a read: +25% server CPU).
//
// Every way out is bounded: a cancelled context or a Close before the end
// sends a cancel request; the server's answer is read to ReadyForQuery,
// and a server that does not answer within the grace period has its
// socket shut down, which ends the read in progress (ErrNoAnswer). Memory
// is the read buffer plus, for a message larger than it, one buffer of
// that message's size. Rows are read on one goroutine; only the context
// watch and the drop run beside it, and Close waits for both.
type Rows struct {
	pc    *pgconn.PgConn
	rd    socketReader
	grace time.Duration
	buf   []byte // bytes read; buf[r:w] not yet parsed
	r, w  int
	vals  [][]byte // the current row's values, into buf (or big)

	err   error // the read or protocol error that ended the rows
	pgErr error // the server's ErrorResponse; reported once it ended
	ended bool  // ReadyForQuery read: the connection is idle again

	closed    bool
	stopWatch func() bool   // stops the context watch
	watchDone chan struct{} // closed when a started context watch returns

	mu         sync.Mutex // guards drop and dropTimer: abort runs on the watch's goroutine too
	cancelOnce sync.Once
	dropTimer  *time.Timer
	dropDone   chan struct{} // closed when a fired drop returns
	drop       bool          // the socket was shut down: the server never answered
}

// readBuffer is the size of a read: what the kernel holds of a fast
// server's rows comes in one call.
const readBuffer = 256 << 10

// ErrNoAnswer ends rows whose server did not answer the cancel request
// within the grace period: the socket was shut down, the connection is
// closed.
var ErrNoAnswer = errors.New("no answer from the server to the cancel request: connection dropped")

// Query is a prepared statement to run.
type Query struct {
	Statement string   // the prepared statement's name
	Params    []string // its parameters, bound as text
	Formats   []int16  // result formats: one for every column, or one per column
	Columns   int      // how many columns each row has (the statement's description)
}

// Open binds q's parameters, executes the statement and returns its rows.
// The connection must be idle and not used by anything else until Close;
// it is idle again after Close when the statement ran to its end (or its
// cancel was answered), and closed otherwise. grace bounds the wait for
// the answer to a cancel request.
func Open(ctx context.Context, pc *pgconn.PgConn, q Query, grace time.Duration) (*Rows, error) {
	// pgconn may hold a background read of its own after a slow write;
	// SyncConn ends it, so every byte from here on is read below.
	if err := pc.SyncConn(ctx); err != nil {
		return nil, err
	}
	msg, err := executeMessages(q.Statement, q.Params, q.Formats)
	if err != nil {
		return nil, err
	}
	nc := pc.Conn()
	if err := writeMessages(ctx, nc, msg); err != nil {
		_ = nc.Close() // a partly written message: the connection is lost
		return nil, fmt.Errorf("send the query: %w", err)
	}
	w := &Rows{
		pc:        pc,
		rd:        newSocketReader(nc),
		grace:     grace,
		buf:       make([]byte, readBuffer),
		vals:      make([][]byte, q.Columns),
		watchDone: make(chan struct{}),
		dropDone:  make(chan struct{}),
	}
	w.stopWatch = context.AfterFunc(ctx, func() {
		defer close(w.watchDone)
		w.abort()
	})
	return w, nil
}

// executeMessages encodes Bind (text parameters, the result formats),
// Execute (all rows) and Sync.
func executeMessages(stmt string, params []string, formats []int16) ([]byte, error) {
	vals := make([][]byte, len(params))
	for i, p := range params {
		vals[i] = []byte(p)
	}
	bind := &pgproto3.Bind{PreparedStatement: stmt, ParameterFormatCodes: []int16{pgx.TextFormatCode}, Parameters: vals, ResultFormatCodes: formats}
	if len(params) == 0 {
		bind.ParameterFormatCodes = nil
	}
	b, err := bind.Encode(nil)
	if err != nil {
		return nil, fmt.Errorf("encode the parameters: %w", err)
	}
	if b, err = (&pgproto3.Execute{}).Encode(b); err != nil {
		return nil, err
	}
	return (&pgproto3.Sync{}).Encode(b)
}

// writeMessages writes msg, bounded by ctx: a server that stopped reading
// cannot hold the run.
func writeMessages(ctx context.Context, nc net.Conn, msg []byte) error {
	stop := context.AfterFunc(ctx, func() { _ = nc.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := nc.Write(msg)
	if !stop() && err != nil {
		err = errors.Join(err, ctx.Err()) // the deadline cut it
	}
	_ = nc.SetWriteDeadline(time.Time{})
	return err
}

// Next returns the next row's values (nil for NULL), valid until the next
// call; false at the end, when Err says whether it ended well.
func (w *Rows) Next() ([][]byte, bool) {
	for !w.ended && w.err == nil {
		typ, body, ok := w.next()
		if !ok {
			break
		}
		switch typ {
		case 'D':
			if w.decodeRow(body) {
				return w.vals, true
			}
		case 'E':
			var er pgproto3.ErrorResponse
			if err := er.Decode(body); err != nil {
				w.err = fmt.Errorf("the server sent an ErrorResponse that does not decode: %w", err)
			} else if w.pgErr == nil {
				w.pgErr = pgconn.ErrorResponseToPgError(&er)
			}
		case 'Z':
			w.ended = true
		case '2', 'C', 'N', 'S', 'A':
			// BindComplete, CommandComplete; a notice, a parameter change or
			// a notification, which nothing in the run asked for
		default:
			w.err = fmt.Errorf("the server sent message type %q while rows were expected (protocol out of step)", typ)
		}
	}
	return nil, false
}

// Err is why the rows ended early: the server's error (a *pgconn.PgError,
// also when the connection was lost after it), ErrNoAnswer, a lost
// connection or a protocol error; nil when they ran to their end.
func (w *Rows) Err() error {
	if w.pgErr != nil {
		return w.pgErr
	}
	return w.err
}

// next returns the next message's type and body, reading as needed; the
// body is valid until the next call. false means w.err is set.
func (w *Rows) next() (byte, []byte, bool) {
	for {
		if n := w.w - w.r; n >= 5 {
			size := int(binary.BigEndian.Uint32(w.buf[w.r+1:]))
			if size < 4 || size > maxMessage {
				w.err = fmt.Errorf("the server sent a message of length %d (protocol out of step)", size)
				return 0, nil, false
			}
			if n >= 1+size {
				typ, body := w.buf[w.r], w.buf[w.r+5:w.r+1+size]
				w.r += 1 + size
				return typ, body, true
			}
			if 1+size > len(w.buf) {
				return w.large(size)
			}
		}
		if !w.fill() {
			return 0, nil, false
		}
	}
}

// maxMessage bounds a message's length: the server builds a row in one
// buffer of at most 1 GiB (MaxAllocSize), so a longer length means the
// stream is out of step, not a row to allocate for.
const maxMessage = 1 << 30

// fill moves the unparsed bytes to the front and reads more after them.
func (w *Rows) fill() bool {
	if w.r > 0 {
		w.w = copy(w.buf, w.buf[w.r:w.w])
		w.r = 0
	}
	n, err := w.rd.Read(w.buf[w.w:])
	w.w += n
	if err != nil && n == 0 {
		w.readFailed(err)
		return false
	}
	return true
}

// large reads a message bigger than the read buffer into one of its own
// size, which the next call drops.
func (w *Rows) large(size int) (byte, []byte, bool) {
	msg := make([]byte, 1+size)
	have := copy(msg, w.buf[w.r:w.w])
	w.r, w.w = 0, 0
	for have < len(msg) {
		n, err := w.rd.Read(msg[have:])
		have += n
		if err != nil && have < len(msg) {
			w.readFailed(err)
			return 0, nil, false
		}
	}
	return msg[0], msg[5:], true
}

// readFailed records why a read ended the rows.
func (w *Rows) readFailed(err error) {
	w.mu.Lock()
	dropped := w.drop
	w.mu.Unlock()
	switch {
	case dropped:
		w.err = fmt.Errorf("%w (waited %v)", ErrNoAnswer, w.grace)
	case errors.Is(err, io.EOF):
		w.err = errors.New("the server closed the connection while sending rows")
	default:
		w.err = fmt.Errorf("read rows from the server: %w", err)
	}
}

// decodeRow puts a DataRow's values into w.vals, checking every length
// against the message.
func (w *Rows) decodeRow(body []byte) bool {
	if len(body) < 2 || int(binary.BigEndian.Uint16(body)) != len(w.vals) {
		w.err = fmt.Errorf("the server sent a row that does not have the statement's %d columns (protocol out of step)", len(w.vals))
		return false
	}
	p := 2
	for i := range w.vals {
		if len(body)-p < 4 {
			w.err = errors.New("the server sent a truncated row (protocol out of step)")
			return false
		}
		n := int(int32(binary.BigEndian.Uint32(body[p:])))
		p += 4
		if n < 0 {
			w.vals[i] = nil
			continue
		}
		if n > len(body)-p {
			w.err = errors.New("the server sent a value longer than its row (protocol out of step)")
			return false
		}
		w.vals[i] = body[p : p+n : p+n]
		p += n
	}
	return true
}

// abort arms the drop and asks the server to cancel the statement, once.
// It runs on the context watch's goroutine or in Close.
func (w *Rows) abort() {
	w.armDrop()
	w.cancelOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), w.grace)
		defer cancel()
		_ = w.pc.CancelRequest(ctx) // unanswered: the drop ends the read
	})
}

// armDrop starts the grace period, once: a server that has not sent
// ReadyForQuery by its end has its socket shut down.
func (w *Rows) armDrop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropTimer != nil {
		return
	}
	w.dropTimer = time.AfterFunc(w.grace, func() {
		defer close(w.dropDone)
		w.mu.Lock()
		w.drop = true
		w.mu.Unlock()
		w.rd.interrupt()
	})
}

// Close ends the rows on every way out; later calls do nothing. Before the
// end it cancels the statement (unless the server already sent its error)
// and reads to ReadyForQuery, bounded by the grace period; it then stops
// the context watch and the drop and waits for them, and leaves the
// connection idle (or closed, when the protocol is not back in step). As
// with any cancel request, one the server gets after the statement ended
// is ignored by an idle backend, but could reach a statement sent right
// after on the same connection.
func (w *Rows) Close() {
	if w.closed {
		return
	}
	w.closed = true
	if !w.ended && w.err == nil {
		if w.pgErr == nil {
			w.abort()
		} else {
			w.armDrop()
		}
		for !w.ended && w.err == nil {
			if typ, _, ok := w.next(); ok && typ == 'Z' {
				w.ended = true
			}
		}
	}
	if !w.stopWatch() {
		<-w.watchDone // a started watch sent the cancel: wait for it
	}
	w.mu.Lock()
	t := w.dropTimer
	w.mu.Unlock()
	if t != nil && !t.Stop() {
		<-w.dropDone
	}
	if w.ended {
		w.rd.release()
		return
	}
	_ = w.pc.Conn().Close()
}

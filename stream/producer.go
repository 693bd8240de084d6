package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
)

// producer reads pgx.Rows on its own goroutine and sends blocks of raw rows
// through a bounded channel. It is the stream's buffered.Source.
type producer struct {
	ctx  context.Context // the caller's context: it bounds the whole stream
	rows pgx.Rows
	opts Options
	done func(err error, cancelled bool) // called once, after rows are closed: releases the connection
	cols []string                        // the column names, for dropped's report (rows may be reused by then)

	ch   chan *buffered.Block
	free chan *buffered.Block // blocks the reader has moved past, for reuse
	stop chan struct{}        // closed by Interrupt: the consumer wants no more rows
	fin  chan struct{}        // closed when the producer goroutine has finished
	err  error                // why the rows ended early; read after fin is closed

	closing     atomic.Bool // Close: the reader asked for fewer rows, which is not an error
	interrupted atomic.Bool // Interrupt was called

	// mu guards the connection against Interrupt once the producer has
	// given it back: Interrupt's cancel request and deadline must never
	// reach a connection that serves someone else by then.
	mu       sync.Mutex
	released bool // done is about to be called: the connection is no longer ours
	deadline bool // abort put a deadline on the connection

	closeOnce sync.Once
	abortOnce sync.Once
}

// run is the producer goroutine. It owns rows and the connection.
func (p *producer) run() {
	defer close(p.fin)
	defer close(p.ch)
	sizes := batchSizes(p.opts)
	ncol := len(p.rows.FieldDescriptions())
	wait := p.waitsForServer()
	bytesPerRow := firstRowBytes
	stopped := false
	for !stopped {
		n := sizes.Next()
		var b *buffered.Block
		select {
		case b = <-p.free:
		default:
			b = buffered.NewBlock(ncol, n, min(n*bytesPerRow, p.opts.MaxBatchBytes))
		}
		more := true
		var huge *buffered.Block
		for b.Len() < n && b.Bytes() < p.opts.MaxBatchBytes {
			if b.Len() > 0 && wait() {
				// every row that has arrived is in b and the next read
				// would wait on the server: let the reader have these now
				break
			}
			if more = p.rows.Next(); !more {
				break
			}
			values := p.rows.RawValues()
			if dataRowBytes(values) > borrowRowBytes {
				huge = buffered.BorrowRow(values) // no copy; see borrowRowBytes
				break
			}
			b.AppendRow(values)
		}
		if b.Len() > 0 {
			bytesPerRow = b.Bytes()/b.Len() + 1
			stopped = !p.send(b)
		}
		if huge != nil && !stopped {
			stopped = !p.send(huge)
		}
		if !more {
			break
		}
	}
	p.finish(stopped)
}

// send hands b to the reader; false when the reader stopped or the
// context ended first.
func (p *producer) send(b *buffered.Block) bool {
	select {
	case p.ch <- b:
		return true
	case <-p.stop:
		return false
	case <-p.ctx.Done():
		return false
	}
}

// borrowRowBytes is the DataRow size above which the producer hands pgx's
// own memory to the reader instead of copying the row: pgx reads a message
// larger than its largest pooled read buffer (32 MiB, pgx's iobufpool) into
// a buffer allocated for it alone, and drops that buffer at its next read
// instead of reusing it. So a 300 MiB row costs 300 MiB, not 600. Smaller
// rows are copied: pgx reuses their memory. TestProducer_HugeRowIsNotCopied
// guards the assumption about pgx.
const borrowRowBytes = 32 << 20

// dataRowBytes is the size of the DataRow message body that carried values:
// a 2-byte column count, then per column a 4-byte length and the bytes.
func dataRowBytes(values [][]byte) int {
	n := 2
	for _, v := range values {
		n += 4 + len(v)
	}
	return n
}

// waitsForServer returns a test of whether the next row must still come
// from the server: no complete message waits in pgx's buffer, nor in the
// socket's receive queue. A fast stream always has the next row at hand,
// so it keeps full batches; a slow server's rows go out as they arrive.
//
// With TrackArrivals (session.PoolConfig) it knows where pgx is in the
// message framing, and on Linux it counts the bytes queued in the kernel
// (and peeks at a header when it needs the length), so it tells a complete
// message from part of one; when the queue is empty it waits up to
// arrivalWait for bytes before answering. Without TrackArrivals it answers
// yes only when pgx holds no byte and the socket stays silent for
// arrivalWait.
func (p *producer) waitsForServer() func() bool {
	conn := p.rows.Conn()
	if conn == nil {
		return func() bool { return false }
	}
	fe := conn.PgConn().Frontend()
	sock := newSocketPeek(conn.PgConn().Conn())
	a := arrivalsOf(fe)
	if a == nil {
		return func() bool {
			return fe.ReadBufferLen() == 0 && (sock == nil || !sock.readableWithin(arrivalWait))
		}
	}
	if sock == nil {
		return func() bool { return !a.ready(fe.ReadBufferLen()) }
	}
	return func() bool {
		if a.ready(fe.ReadBufferLen()) {
			return false
		}
		queued := sock.queued()
		if a.completedBy(queued, sock.peek) {
			return false
		}
		if queued > 0 || !sock.readableWithin(arrivalWait) {
			return true // part of a row waits for the server, or nothing came
		}
		return !a.completedBy(sock.queued(), sock.peek)
	}
}

// finish ends the query and gives the connection back. After an early stop
// it first asks the server to cancel the query, because closing pgx.Rows
// would otherwise read and discard every remaining row.
func (p *producer) finish(stopped bool) {
	select {
	case <-p.stop:
		// Interrupt may have cancelled the statement while we were reading:
		// the error that ended the rows is then ours, not the caller's
		stopped = true
	default:
	}
	if stopped {
		p.abortOnce.Do(p.abort)
	}
	p.rows.Close()
	err := p.rows.Err()
	p.release()
	switch {
	case p.ctx.Err() != nil:
		if err == nil || !errors.Is(err, p.ctx.Err()) {
			err = joinCtx(p.ctx.Err(), err)
		}
	case stopped && p.interrupted.Load() && !p.closing.Load():
		err = ErrInterrupted
	case stopped:
		// the reader asked to stop: the cancellation error is ours, not the caller's
		err = nil
	}
	p.err = err
	p.done(err, stopped)
}

// release marks the connection as no longer the producer's and clears the
// exit deadline when the connection survived it. When the deadline fired,
// pgx has marked the connection closed (the pool drops it on release) and
// closes it in the background after draining it for up to 15 s, which
// would hold the pool's slot as long: closing the socket now ends that.
func (p *producer) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.released = true
	conn := p.rows.Conn()
	if !p.deadline || conn == nil {
		return
	}
	if conn.IsClosed() {
		_ = conn.PgConn().Conn().Close()
		return
	}
	_ = conn.PgConn().Conn().SetDeadline(time.Time{})
}

// abort ends the running statement early, once, from any goroutine: it
// bounds every read still to come with a deadline of ExitTimeout, then sends
// the server a cancel request. A healthy server ends the statement at once
// (its error reaches the producer well before the deadline, and the
// connection stays usable); a connection that has stopped answering (dead
// network, stopped backend) fails its read at the deadline, pgx closes it
// and the pool replaces it. Either way the producer finishes within
// ExitTimeout. The deadline is the one pgx's own cancel-request context
// watcher sets after a cancelled context; see session.PoolConfig.
func (p *producer) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released {
		return // finished meanwhile: the connection may serve someone else
	}
	conn := p.rows.Conn()
	if conn == nil { // (not IsClosed: the producer goroutine may be changing its status)
		return
	}
	_ = conn.PgConn().Conn().SetDeadline(time.Now().Add(p.opts.ExitTimeout))
	p.deadline = true
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.ExitTimeout)
	defer cancel()
	_ = conn.PgConn().CancelRequest(ctx)
}

// joinCtx wraps a context error and the server's answer to the cancel
// (usually SQLSTATE 57014) so both errors.Is(err, context.Canceled) and
// errors.As(err, **pgconn.PgError) work.
func joinCtx(ctxErr, err error) error {
	if err == nil {
		return ctxErr
	}
	return fmt.Errorf("%w: %w", ctxErr, err)
}

// Next implements buffered.Source.
func (p *producer) Next() (*buffered.Block, error) {
	if b, ok := <-p.ch; ok {
		return b, nil
	}
	<-p.fin
	return nil, p.err
}

// Recycle implements buffered.Recycler: the reader is done with b, so the
// producer may fill it again instead of allocating (a stream then makes no
// garbage per batch once warm). Blocks beyond the free list's room are left
// to the collector.
//
// A block grown well past MaxBatchBytes (by a row larger than a batch) is
// dropped instead, so a stream does not keep a huge row's memory for its
// remaining life.
func (p *producer) Recycle(b *buffered.Block) {
	if b.Cap() > keepBlockFactor*p.opts.MaxBatchBytes {
		return
	}
	b.Reset()
	select {
	case p.free <- b:
	default:
	}
}

// Interrupt implements buffered.Interrupter: it stops the producer,
// cancelling the statement when the producer may be waiting on the server
// for rows. The reader then gets the rows already sent, then ErrInterrupted.
// Safe from any goroutine; it returns within Options.ExitTimeout even when
// the server has stopped answering.
func (p *producer) Interrupt() {
	p.interrupted.Store(true)
	p.closeOnce.Do(func() { close(p.stop) })
	select {
	case <-p.fin:
	default:
		p.abortOnce.Do(p.abort)
	}
}

// Close implements buffered.Source: it interrupts the producer and waits
// until the connection has been released. The reader asked for fewer rows,
// so the stream ends without an error.
func (p *producer) Close() {
	p.closing.Store(true)
	p.Interrupt()
	<-p.fin
}

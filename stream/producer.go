package stream

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/ladder"
)

// producer reads pgx.Rows in batches and hands them to the stream's cursor
// as blocks of raw rows. It is the stream's buffered.Source.
//
// It starts inline: the cursor's Next reads the next batch on the reader's
// own goroutine. A plain loop over the rows then costs no second goroutine,
// no channel and no hand-off, which on a narrow result is most of what a
// stream adds to pgx. Once the reader turns out to be slower than the wire
// (it spends longer on the rows of a batch than reading them took; see
// handOverDue), or when Options.Prefetch asks for it, the producer hands
// reading over to a goroutine of its own (run) that reads ahead through a
// bounded channel while the reader works. The hand-over happens between
// batches, on the reader's goroutine, so no read is ever in flight on two
// goroutines.
type producer struct {
	ctx  context.Context // the caller's context: it bounds the whole stream
	rows pgx.Rows
	opts Options
	done func(err error, cancelled bool) // called once, after rows are closed: releases the connection
	cols []string                        // the column names, for dropped's report (rows may be reused by then)

	ch   chan *buffered.Block
	free chan *buffered.Block // blocks the reader has moved past, for reuse
	stop chan struct{}        // closed by Interrupt: the consumer wants no more rows
	fin  chan struct{}        // closed when the rows are closed and the connection given back
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

	// filling batches, on whichever goroutine reads
	sizes       ladder.Ladder
	ncol        int
	wait        func() bool // see waitsForServer
	bytesPerRow int

	// inline reading. readMu is held while the reader's Next reads the
	// connection, and by whoever else ends an inline stream (Interrupt,
	// Close, the context, the cleanup of a dropped Result), so the rows are
	// never used on two goroutines at once.
	readMu   sync.Mutex
	async    bool            // reading was handed to the goroutine (run); guarded by readMu
	finished bool            // an inline stream has ended; guarded by readMu
	pending  *buffered.Block // a huge row read after a batch, for the next Next
	stopCtx  func() bool     // unregisters the context's AfterFunc
	// what handOverDue weighs: time in Next reading, time between Nexts
	// (the reader's work on the rows), and rows read inline
	readTime, useTime time.Duration
	lastOut           time.Time
	rowsRead          int
}

// start begins streaming: inline, or on the goroutine at once when
// Options.Prefetch says so.
func (p *producer) start() {
	if p.opts.Prefetch == PrefetchAlways {
		p.async = true
		go p.run() // owned by the Result: Close and exhaustion wait for it, and so does the cleanup of a dropped one
		return
	}
	// a context that ends while the reader is busy elsewhere ends the
	// stream at once, as the producer goroutine would. Under readMu: a
	// context already ended runs finishIdle at once, and it must find
	// stopCtx set.
	p.readMu.Lock()
	defer p.readMu.Unlock()
	p.stopCtx = context.AfterFunc(p.ctx, p.finishIdle)
}

// run is the producer goroutine. It owns rows and the connection.
func (p *producer) run() {
	defer close(p.fin)
	defer close(p.ch)
	stopped := false
	for !stopped {
		n := p.sizes.Next()
		b := p.block(n)
		more, huge := p.fill(b, n)
		if b.Len() > 0 {
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

// block returns an empty block for a batch of n rows: one the reader handed
// back, or a new one sized from the rows seen so far.
func (p *producer) block(n int) *buffered.Block {
	select {
	case b := <-p.free:
		return b
	default:
		return buffered.NewBlock(p.ncol, n, min(n*p.bytesPerRow, p.opts.MaxBatchBytes))
	}
}

// fill reads up to n rows into b. more is false when the rows ended (or
// failed: see rows.Err). huge is a row too large to copy, read after b's
// rows: it goes to the reader as a batch of its own, after b.
func (p *producer) fill(b *buffered.Block, n int) (more bool, huge *buffered.Block) {
	more = true
	for b.Len() < n && b.Bytes() < p.opts.MaxBatchBytes {
		if b.Len() > 0 && p.wait() {
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
		p.bytesPerRow = b.Bytes()/b.Len() + 1
	}
	return more, huge
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
	if b, err, inline := p.nextInline(); inline {
		return b, err
	}
	if b, ok := <-p.ch; ok {
		return b, nil
	}
	<-p.fin
	return nil, p.err
}

// nextInline is Next while the stream reads on the reader's goroutine:
// it reads the next batch itself. inline is false once reading belongs to
// the goroutine (it may hand it over now).
func (p *producer) nextInline() (b *buffered.Block, err error, inline bool) {
	p.readMu.Lock()
	defer p.readMu.Unlock()
	if p.async {
		return nil, nil, false
	}
	if b := p.pending; b != nil {
		p.pending = nil
		return b, nil, true
	}
	if p.finished {
		return nil, p.err, true
	}
	start := time.Now()
	if !p.lastOut.IsZero() {
		p.useTime += start.Sub(p.lastOut)
	}
	if p.ended() {
		p.finishInline(true)
		return nil, p.err, true
	}
	if p.handOverDue() {
		p.async = true
		p.stopCtx()
		if onHandOver != nil {
			onHandOver()
		}
		go p.run() // owned by the Result, as in start
		return nil, nil, false
	}
	n := p.sizes.Next()
	b = p.block(n)
	more, huge := p.fill(b, n)
	switch {
	case !more:
		p.finishInline(false) // the rows ran out or failed: b holds the rows before, err comes next
	case p.ended():
		// Interrupt or the context came during the read: the rows not yet
		// handed out are dropped, as the goroutine drops an unsent batch
		p.Recycle(b)
		p.finishInline(true)
		return nil, p.err, true
	}
	p.pending = huge
	p.lastOut = time.Now()
	p.readTime += p.lastOut.Sub(start)
	p.rowsRead += b.Len()
	if b.Len() == 0 {
		p.Recycle(b)
		if b, p.pending = p.pending, nil; b != nil {
			return b, nil, true
		}
		return nil, p.err, true
	}
	return b, nil, true
}

// ended reports whether Interrupt was called or the context ended.
func (p *producer) ended() bool {
	select {
	case <-p.stop:
		return true
	default:
		return p.ctx.Err() != nil
	}
}

// onHandOver, when set (by a test only), is called when an inline stream
// hands reading over to its goroutine: whether it does depends on timing
// a test cannot fix, so the test checks what follows when it does.
var onHandOver func()

// handOverAfter is how many rows an inline stream reads before it judges
// whether the reader is slower than the wire: the first, growing batches
// are too small to time.
const handOverAfter = 2000

// handOverDue reports whether reading should move to the goroutine: with
// Options.Prefetch at its default, once the reader has spent longer on the
// rows than reading them took. Reading ahead then overlaps the two; when
// the reader is the faster side it would only add a thread and a hand-off
// per batch, which on two cores shared with the server costs more than it
// overlaps. A single core overlaps nothing.
func (p *producer) handOverDue() bool {
	return p.opts.Prefetch == PrefetchAuto && p.rowsRead >= handOverAfter &&
		p.useTime > p.readTime && runtime.GOMAXPROCS(0) > 1
}

// finishInline ends an inline stream: finish, then what the goroutine's
// exit would do. readMu is held.
func (p *producer) finishInline(stopped bool) {
	p.finished = true
	p.stopCtx()
	p.finish(stopped)
	close(p.fin)
}

// finishIdle ends an inline stream from outside its reads (Interrupt,
// Close, the context's end, a dropped Result's cleanup): it waits for a
// read in progress to return (abort has bounded it), then finishes unless
// the reader already has, or reading belongs to the goroutine, which ends
// itself.
func (p *producer) finishIdle() {
	p.readMu.Lock()
	defer p.readMu.Unlock()
	if p.async || p.finished {
		return
	}
	p.finishInline(true)
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
		p.finishIdle()
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

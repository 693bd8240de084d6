package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

	ch   chan *buffered.Block
	free chan *buffered.Block // blocks the reader has moved past, for reuse
	stop chan struct{}        // closed by Close: the consumer wants no more rows
	fin  chan struct{}        // closed when the producer goroutine has finished
	err  error                // why the rows ended early; read after fin is closed

	closeOnce  sync.Once
	cancelOnce sync.Once
}

// run is the producer goroutine. It owns rows and the connection.
func (p *producer) run() {
	defer close(p.fin)
	defer close(p.ch)
	sizes := newBatchSizes(p.opts)
	ncol := len(p.rows.FieldDescriptions())
	bytesPerRow := 64
	stopped := false
	for !stopped {
		n := sizes.take()
		var b *buffered.Block
		select {
		case b = <-p.free:
		default:
			b = buffered.NewBlock(ncol, n, min(n*bytesPerRow, p.opts.MaxBatchBytes))
		}
		more := true
		for b.Len() < n && b.Bytes() < p.opts.MaxBatchBytes {
			if more = p.rows.Next(); !more {
				break
			}
			b.AppendRow(p.rows.RawValues())
		}
		if b.Len() > 0 {
			bytesPerRow = b.Bytes()/b.Len() + 1
			select {
			case p.ch <- b:
			case <-p.stop:
				stopped = true
			case <-p.ctx.Done():
				stopped = true
			}
		}
		if !more {
			break
		}
	}
	p.finish(stopped)
}

// finish ends the query and gives the connection back. After an early stop
// it first asks the server to cancel the query, because closing pgx.Rows
// would otherwise read and discard every remaining row.
func (p *producer) finish(stopped bool) {
	select {
	case <-p.stop:
		// Close may have cancelled the statement while we were reading: the
		// error that ended the rows is then ours, not the caller's
		stopped = true
	default:
	}
	if stopped {
		p.cancelQuery()
	}
	p.rows.Close()
	err := p.rows.Err()
	switch {
	case p.ctx.Err() != nil:
		if err == nil || !errors.Is(err, p.ctx.Err()) {
			err = joinCtx(p.ctx.Err(), err)
		}
	case stopped:
		// the reader asked to stop: the cancellation error is ours, not the caller's
		err = nil
	}
	p.err = err
	p.done(err, stopped)
}

// cancelQuery sends the server a cancel request for the running statement,
// once. It works whatever context watcher the connection has and leaves the
// connection usable. The connection is not released before the producer
// has closed the rows, so the request cannot hit a later statement: a
// backend that is already idle ignores it.
func (p *producer) cancelQuery() {
	p.cancelOnce.Do(func() {
		conn := p.rows.Conn()
		if conn == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
		defer cancel()
		_ = conn.PgConn().CancelRequest(ctx)
	})
}

// cancelTimeout bounds a cancel request.
const cancelTimeout = 5 * time.Second

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
func (p *producer) Recycle(b *buffered.Block) {
	b.Reset()
	select {
	case p.free <- b:
	default:
	}
}

// Interrupt implements buffered.Interrupter: it stops the producer,
// cancelling the statement when the producer may be waiting on the server
// for rows. Safe from any goroutine.
func (p *producer) Interrupt() {
	p.closeOnce.Do(func() { close(p.stop) })
	select {
	case <-p.fin:
	default:
		p.cancelQuery()
	}
}

// Close implements buffered.Source: it interrupts the producer and waits
// until the connection has been released.
func (p *producer) Close() {
	p.Interrupt()
	<-p.fin
}

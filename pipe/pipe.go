package pipe

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/ladder"
)

// Pipeline stages move rows in chunks: one function call, one channel
// operation and one allocation per chunk, never per row.
//
// A pipe is a chain of pull functions. Pulling the last stage pulls the one
// before it, on the same goroutine, down to the source view; only ParallelMap
// breaks the chain: each of its workers pulls the stages above it in turn,
// under the stage's lock. So From, Map and Filter cost no goroutine, and
// everything that reads the source view runs on one goroutine at a time: the
// consumer's, or one worker of the first ParallelMap.

// The chunks From cuts from its view climb the module's one ladder (1, 5,
// 25, 125, then maxChunk), so the first rows reach the stages at once and a
// long result moves in full chunks. maxChunk bounds what each stage holds
// (see Pipe) while making a chunk's call, channel operation and allocation
// a small cost per row.
const maxChunk = 256

// errEnd is what a stage's pull returns once its rows have run out. It never
// leaves the package.
var errEnd = errors.New("pipe: end of the pipe")

// errStopped is the cause the pipe's context is cancelled with when the pipe
// ends: drained, failed, closed or left early. A ParallelMap function sees it
// as context.Cause of its ctx.
var errStopped = errors.New("pipe: the pipe has stopped")

// Pipe is a chain of stages over chunks of rows of type T: From a view, then
// Map, Filter and ParallelMap, read with Rows, Chunks or All.
//
// Every way out ends the whole chain, upstream first, and releases what it
// holds: reading to the end, an error or a panic in a stage, an error from
// the source, a break, return or panic in the consumer's range loop, Close,
// or the context given to From being cancelled. Ending means: the stage
// goroutines are stopped and waited for, and the source view is closed (for a
// stream, that stops the query and releases its connection). Close a Pipe you
// do not read to the end; Close is cheap and idempotent.
//
// Memory is bounded whatever the row count: each stage holds a fixed number
// of chunks of at most 256 rows (see From and ParallelMap), and a slow
// consumer stops the stages, which stop reading the source, which stops the
// stream's producer and, through TCP, the server.
//
// Each stage consumes the pipe it is built on: build the next stage on, and
// read, only the pipe the last stage returned. Any pipe of a chain may be
// closed; Close ends the whole chain. A Pipe is not safe for concurrent use:
// read and close it from one goroutine.
type Pipe[T any] struct {
	c *chain
	// pull returns the next chunk: a non-empty slice the caller now owns,
	// and/or an error that ends the pipe after that chunk (errEnd at the end).
	pull func() ([]T, error)
	// local is true when pull reads the source view on the puller's
	// goroutine (no ParallelMap between this stage and the source).
	local bool
	// next names the stage built on this pipe; "" while it is the last.
	next string
}

// chain is what every stage of one pipe shares. Its unexported state is
// touched only by the consumer's goroutine, except ctx, wg and src.
type chain struct {
	ctx    context.Context
	cancel context.CancelCauseFunc

	src     *sourceCloser
	wg      sync.WaitGroup // the stage goroutines (ParallelMap workers)
	starter []func()       // start the stage goroutines, upstream first

	started bool  // the first read has started the stage goroutines
	ended   bool  // a read reached the end or an error
	closed  bool  // Close, or a loop left early, before the end
	err     error // what ended the pipe; nil after a complete read or Close
}

// sourceCloser closes the source view once, on whichever goroutine reads it
// (a worker of the first ParallelMap, as soon as they stop reading) or, after
// every stage goroutine has finished, on the consumer's.
type sourceCloser struct {
	once      sync.Once
	close     func()
	interrupt func() // nil, or ends a read in progress; safe from any goroutine
}

func (s *sourceCloser) do() { s.once.Do(s.close) }

// start starts the stage goroutines, once, before the first pull.
func (c *chain) start() {
	if c.started {
		return
	}
	c.started = true
	for _, f := range c.starter {
		f()
	}
}

// stop cancels every stage, waits for the stage goroutines and closes the
// source view. It is idempotent and runs on the consumer's goroutine.
func (c *chain) stop() {
	c.cancel(errStopped)
	if c.src.interrupt != nil && c.started {
		c.src.interrupt() // a worker may be waiting for the source's rows
	}
	c.wg.Wait()
	c.src.do()
}

// finish records how a read ended (errEnd: complete) and stops the chain.
func (c *chain) finish(err error) {
	c.ended = true
	if err != errEnd && c.err == nil {
		c.err = err
	}
	c.stop()
}

// From starts a pipe that reads v: the rows of a stream (res.View,
// res.Scalars(), buffered.Structs[T](res), ...) or of a buffered result.
//
// The pipe takes v over: it reads v in chunks and closes it when the pipe
// ends, which for a stream stops the query and releases its connection. Do
// not read or close v, or the Result it is a view of, while the pipe is in
// use. Cancelling ctx ends the pipe (its reads then fail with ctx's cause);
// cancel the stream's own context too, or pass the same one, to stop a query
// the server is slow to answer (see Close).
//
// From starts no goroutine. Its chunks hold at most 256 rows and are cut as
// rows are read (the first rows at once, in chunks of 1, 5, 25, ...), on the
// goroutine that pulls them: the consumer's, or a ParallelMap worker's.
func From[T any](ctx context.Context, v *buffered.View[T]) *Pipe[T] {
	cctx, cancel := context.WithCancelCause(ctx)
	c := &chain{ctx: cctx, cancel: cancel, src: &sourceCloser{close: v.Close, interrupt: v.Interrupt}}
	sizes := ladder.New(maxChunk)
	pull := func() ([]T, error) {
		if cctx.Err() != nil {
			return nil, context.Cause(cctx)
		}
		b, err := v.FetchAvailable(sizes.Next())
		if err == nil && cctx.Err() != nil {
			// an interrupted read may look like the end: it is not
			return b, context.Cause(cctx)
		}
		if len(b) == 0 && err == nil {
			return nil, errEnd
		}
		return b, err
	}
	return &Pipe[T]{c: c, pull: pull, local: true}
}

// take marks p as consumed by a new stage op and returns its pull function,
// or an error when p cannot take one.
func (p *Pipe[T]) take(op string) (func() ([]T, error), error) {
	switch {
	case p.next != "":
		return nil, fmt.Errorf("pipe: %s: this pipe already feeds a %s stage; build on the pipe the last stage returned", op, p.next)
	case p.c.started:
		return nil, fmt.Errorf("pipe: %s: the pipe is already being read", op)
	}
	p.next = op
	return p.pull, nil
}

// failedPull returns a pull function that fails with err.
func failedPull[T any](err error) func() ([]T, error) {
	return func() ([]T, error) { return nil, err }
}

// readable says whether op may read p: nil, errEnd after a complete read,
// or why not.
func (p *Pipe[T]) readable(op string) error {
	c := p.c
	switch {
	case p.next != "":
		return fmt.Errorf("pipe: %s: this pipe feeds a %s stage; read the pipe the last stage returned", op, p.next)
	case c.err != nil:
		return c.err
	case c.closed:
		return fmt.Errorf("pipe: %s: %w", op, buffered.ErrClosed)
	case c.ended:
		return errEnd
	}
	return nil
}

// chunks is Chunks for op.
func (p *Pipe[T]) chunks(op string) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		if err := p.readable(op); err != nil {
			if err != errEnd {
				yield(nil, err)
			}
			return
		}
		c := p.c
		defer p.Close() // break, return or panic in the loop: end everything
		c.start()
		for {
			b, err := p.pull()
			if len(b) > 0 && !yield(b, nil) {
				return
			}
			if err != nil {
				c.finish(err) // release first, then report
				if err != errEnd {
					yield(nil, err)
				}
				return
			}
			if c.closed { // Close in the loop body
				yield(nil, fmt.Errorf("pipe: %s: %w", op, buffered.ErrClosed))
				return
			}
		}
	}
}

// Chunks returns an iterator over the pipe's rows in chunks, in order.
// Each chunk is non-empty and the caller's to keep. An error is yielded
// once, after the chunks before it, and ends the loop (Err then returns it).
//
// The first read starts the stage goroutines. The pipe ends when the loop
// does, however it does: running to the end, an error, break, return or a
// panic in the loop body (the panic goes on after the cleanup). Reading an
// exhausted pipe yields nothing; a closed one yields an error wrapping
// buffered.ErrClosed; a failed one its error again.
func (p *Pipe[T]) Chunks() iter.Seq2[[]T, error] { return p.chunks("Chunks") }

// Rows returns an iterator over the pipe's rows, in order. An error (from a
// stage, the source, or the context) is yielded once, after the rows before
// it, and ends the loop; Err then returns it. Ending, early exit and
// re-reading behave as in Chunks: a break or a panic in the loop body ends
// the whole pipe and releases the source's connection.
func (p *Pipe[T]) Rows() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for b, err := range p.chunks("Rows") {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, x := range b {
				if !yield(x, nil) {
					return
				}
				if p.c.closed { // Close in the loop body: no more rows
					var zero T
					yield(zero, fmt.Errorf("pipe: Rows: %w", buffered.ErrClosed))
					return
				}
			}
		}
	}
}

// All reads the pipe to its end and returns its rows. On failure it returns
// the rows before the error and the error. The pipe is ended after All, as
// after a Rows loop. Unlike the stages, All holds every row in memory.
func (p *Pipe[T]) All() ([]T, error) {
	out := []T{}
	for b, err := range p.chunks("All") {
		if err != nil {
			return out, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// Close ends the pipe: it cancels every stage, waits for their goroutines
// and closes the source view (for a stream: stops the query and releases the
// connection). Later reads fail with an error wrapping buffered.ErrClosed.
// Close is idempotent, may be called on any pipe of the chain, and is done
// for you when a Rows, Chunks or All loop ends.
//
// A stage goroutine blocked reading the source finishes that read before it
// stops, as Result.Close does: with a stream, when its producer hands over
// its next batch or the rows end. That is at once while rows flow, but as
// long as the server takes to send a batch when it is slow: cancel the
// stream's context (pass the same ctx to the query and to From) to cut that
// wait short.
func (p *Pipe[T]) Close() {
	c := p.c
	if !c.ended {
		c.closed = true
	}
	c.stop()
}

// Err returns the error that ended the pipe (a stage's error or panic, the
// source's error, the context's cause), or nil while it runs and after a
// complete read or Close.
func (p *Pipe[T]) Err() error { return p.c.err }

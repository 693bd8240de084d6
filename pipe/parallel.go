package pipe

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	concstream "github.com/sourcegraph/conc/stream"
)

// ParallelMap returns a pipe of fn applied to each row of p by up to workers
// goroutines, in the input order: chunk after chunk, row after row, whatever
// order the calls finish in. workers < 1 makes the first read fail.
//
// Goroutines: one feeder, owned by the pipe, pulls chunks from the stages
// above (so those stages, and the read of the source view when no other
// ParallelMap comes first, run on it) and submits one task per chunk to a conc
// stream of at most workers goroutines; conc's callback goroutine hands the
// mapped chunks on in submission order. All of them start at the first read
// and are waited for when the pipe ends (Close, the end of a read loop).
// fn runs on the worker goroutines: it must be safe to call concurrently.
//
// ctx is the pipe's context: it is cancelled when the pipe ends, and its
// context.Cause then says why. fn should give up when it is done; the stage
// also checks it between rows.
//
// Memory: at most workers+4 mapped chunks of at most 256 rows wait ahead of
// the consumer (workers+1 in conc's queue, one in the callback goroutine, one
// in the output channel, one being read), plus the one chunk the feeder holds
// unmapped. When they are all full the feeder stops pulling, and backpressure
// reaches the source.
//
// An error from fn ends the pipe after the rows mapped before it, in order:
// the feeder stops reading at once (and closes the source view if it reads
// it), chunks after the failing one are dropped, and the error reaches the
// consumer after the chunks before it. A panic in fn is recovered and
// returned the same way as a *PanicError (see Map): not re-raised.
func ParallelMap[T, U any](p *Pipe[T], workers int, fn func(context.Context, T) (U, error)) *Pipe[U] {
	up, err := p.take("ParallelMap")
	q := &Pipe[U]{c: p.c}
	if err == nil && workers < 1 {
		err = fmt.Errorf("pipe: ParallelMap: workers must be at least 1, got %d", workers)
	}
	if err != nil {
		q.pull = failedPull[U](err)
		return q
	}
	s := &parStage[T, U]{
		c:          p.c,
		up:         up,
		ownsSource: p.local,
		workers:    workers,
		fn:         fn,
		out:        make(chan parItem[U], 1),
	}
	s.failed.Store(noFailure)
	p.c.starter = append(p.c.starter, s.start)
	q.pull = s.pull
	return q
}

// noFailure is parStage.failed while no chunk has failed.
const noFailure = math.MaxInt64

// parItem is a mapped chunk, or the error that ends the stage after rows.
type parItem[U any] struct {
	rows []U
	err  error
}

// parStage is one ParallelMap stage.
type parStage[T, U any] struct {
	c          *chain
	up         func() ([]T, error)
	ownsSource bool // the feeder reads the source view: it closes it when it stops
	workers    int
	fn         func(context.Context, T) (U, error)
	out        chan parItem[U]

	// failed is the sequence number of the first chunk whose fn failed:
	// the feeder stops reading and later chunks are dropped.
	failed atomic.Int64

	// Written by the callbacks (on conc's callback goroutine only), read by
	// the feeder after conc's Wait.
	sentErr bool // an error item went out: nothing follows it
	dropped bool // a chunk was not delivered (cancelled or skipped)

	// end is errEnd when every chunk was delivered, else nil: written by the
	// feeder before it closes out, read by the consumer after.
	end error
}

func (s *parStage[T, U]) start() {
	s.c.wg.Add(1)
	go s.feed()
}

// pull runs on the goroutine that reads the stage.
func (s *parStage[T, U]) pull() ([]U, error) {
	if it, ok := <-s.out; ok {
		return it.rows, it.err
	}
	if s.end != nil {
		return nil, s.end
	}
	if err := context.Cause(s.c.ctx); err != nil {
		return nil, err
	}
	return nil, errStopped // not reached: the feeder stops early only when cancelled
}

// feed is the feeder goroutine.
func (s *parStage[T, U]) feed() {
	defer s.c.wg.Done()
	defer close(s.out)
	cs := concstream.New().WithMaxGoroutines(s.workers)
	complete := false
	for seq := int64(0); ; seq++ {
		if s.c.ctx.Err() != nil || s.failed.Load() != noFailure {
			break
		}
		b, err := s.up()
		if len(b) > 0 {
			cs.Go(s.task(seq, b))
		}
		if err == errEnd {
			complete = true
			break
		}
		if err != nil {
			cs.Go(func() concstream.Callback {
				return func() { s.send(parItem[U]{err: err}) }
			})
			break
		}
	}
	if s.ownsSource {
		s.c.src.do() // done reading: release the connection now
	}
	cs.Wait()
	if complete && !s.dropped {
		s.end = errEnd
	}
}

// task maps chunk seq on a worker goroutine. conc runs tasks queued before a
// cancellation too: check first.
func (s *parStage[T, U]) task(seq int64, in []T) concstream.Task {
	return func() concstream.Callback {
		ctx := s.c.ctx
		if ctx.Err() != nil || s.failed.Load() < seq {
			return s.drop
		}
		out, err := s.mapChunk(ctx, in)
		if err != nil {
			s.noteFailure(seq)
		} else if len(out) < len(in) { // cancelled midway
			return s.drop
		}
		return func() { s.send(parItem[U]{rows: out, err: err}) }
	}
}

func (s *parStage[T, U]) mapChunk(ctx context.Context, in []T) (out []U, err error) {
	out = make([]U, 0, len(in))
	defer recoverStage(&err)
	for _, x := range in {
		if ctx.Err() != nil {
			return out, nil
		}
		y, ferr := s.fn(ctx, x)
		if ferr != nil {
			return out, ferr
		}
		out = append(out, y)
	}
	return out, nil
}

// noteFailure records that chunk seq failed, keeping the earliest.
func (s *parStage[T, U]) noteFailure(seq int64) {
	for {
		cur := s.failed.Load()
		if cur <= seq || s.failed.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// send hands an item on, in order; a callback.
func (s *parStage[T, U]) send(it parItem[U]) {
	if s.sentErr || s.dropped {
		return
	}
	if len(it.rows) == 0 && it.err == nil {
		return
	}
	select {
	case s.out <- it:
		s.sentErr = it.err != nil
	case <-s.c.ctx.Done():
		s.dropped = true
	}
}

// drop is the callback of a chunk that was not mapped.
func (s *parStage[T, U]) drop() { s.dropped = true }

package pipe

import (
	"context"
	"fmt"
	"sync"
)

// ParallelMap returns a pipe of fn applied to each row of p by up to workers
// goroutines, in the input order: chunk after chunk, row after row, whatever
// order the calls finish in. workers < 1 makes the first read fail.
//
// Goroutines: workers of them, owned by the pipe, started at the first read
// and waited for when the pipe ends (Close, the end of a read loop). A
// worker that is free reads the next chunk from the stages above itself,
// one worker at a time (so those stages, and the read of the source view
// when no other ParallelMap comes first, run on the workers in turn), maps
// it, and leaves it in the slot of its sequence number, where the reader
// takes the chunks in order. No goroutine stands between the source and the
// workers or between the workers and the reader: a chunk is read by the
// goroutine that maps it, when it is ready to, and handed over once.
// fn runs on the worker goroutines: it must be safe to call concurrently.
//
// ctx is the pipe's context: it is cancelled when the pipe ends, and its
// context.Cause then says why. fn should give up when it is done; the stage
// also checks it between rows.
//
// Memory: at most workers+2 chunks of at most 256 rows are read ahead of
// the reader (being mapped, or mapped and waiting in their slots), plus the
// one being read. When they are all taken the workers stop reading, and
// backpressure reaches the source.
//
// An error from fn ends the pipe after the rows mapped before it, in order:
// the workers stop reading at once (and close the source view if they read
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
	ahead := workers + aheadSlack
	s := &parStage[T, U]{
		c:          p.c,
		up:         up,
		ownsSource: p.local,
		workers:    workers,
		fn:         fn,
		slots:      make([]chan parItem[U], ahead),
		tokens:     make(chan struct{}, ahead),
	}
	for i := range s.slots {
		s.slots[i] = make(chan parItem[U], 1)
	}
	for range ahead {
		s.tokens <- struct{}{}
	}
	p.c.starter = append(p.c.starter, s.start)
	q.pull = s.pull
	return q
}

// aheadSlack is how many chunks beyond one per worker may be read ahead of
// the reader: a worker that finishes a chunk while the reader is busy with
// an earlier one can read and map the next, and the reader finds the next
// chunk mapped while a worker still maps its own.
const aheadSlack = 2

// parItem is a mapped chunk, and/or the error that ends the stage after it.
type parItem[U any] struct {
	rows []U
	err  error
}

// parStage is one ParallelMap stage.
type parStage[T, U any] struct {
	c       *chain
	workers int
	fn      func(context.Context, T) (U, error)

	// slots[seq%len(slots)] holds chunk seq once mapped. tokens holds one
	// token per chunk that may be read ahead of the reader: a worker takes
	// one before it reads a chunk, the reader gives it back when it takes
	// the chunk from its slot. So chunk seq is read only once chunk
	// seq-len(slots) has left the slot they share, and a send to a slot
	// never waits.
	slots  []chan parItem[U]
	tokens chan struct{}
	next   int64 // the chunk the reader takes next; the reader's only

	// mu serialises reading the stage above, and guards what follows.
	mu         sync.Mutex
	up         func() ([]T, error)
	ownsSource bool  // the workers read the source view: they close it when they stop
	seq        int64 // the number of the next chunk read
	stopped    bool  // reading has ended: the rows ran out, or failed, or the pipe is ending
}

func (s *parStage[T, U]) start() {
	for range s.workers {
		s.c.wg.Add(1)
		go s.work() // owned by the chain: stop waits for it
	}
}

// pull runs on the goroutine that reads the stage.
func (s *parStage[T, U]) pull() ([]U, error) {
	select {
	case it := <-s.slots[s.next%int64(len(s.slots))]:
		s.next++
		s.tokens <- struct{}{} // never waits: the token was taken for this chunk
		return it.rows, it.err
	case <-s.c.ctx.Done():
		return nil, context.Cause(s.c.ctx)
	}
}

// work is a worker goroutine: it reads a chunk, maps it and leaves it in
// its slot, until reading stops or the pipe ends.
func (s *parStage[T, U]) work() {
	defer s.c.wg.Done()
	ctx := s.c.ctx
	for {
		select {
		case <-s.tokens:
		case <-ctx.Done():
			s.stopReading()
			return
		}
		seq, in, err, ok := s.read()
		if !ok {
			return
		}
		out, ferr := []U(nil), error(nil)
		if len(in) > 0 {
			out, ferr = s.mapChunk(ctx, in)
		}
		// A chunk read after one that failed may still land in its slot
		// (the send never waits): the reader stops at the failed one.
		switch {
		case ferr != nil:
			s.stopReading()
			err = ferr // the rows before it, then fn's error: later ones do not count
		case len(out) < len(in):
			return // cancelled midway: dropped
		}
		s.slots[seq%int64(len(s.slots))] <- parItem[U]{rows: out, err: err}
		if err != nil {
			return // reading has stopped
		}
	}
}

// read reads the next chunk from the stage above and numbers it, unless
// reading has stopped (ok false). A chunk that ends with an error (errEnd
// at the end) stops reading.
func (s *parStage[T, U]) read() (seq int64, in []T, err error, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return 0, nil, nil, false
	}
	if s.c.ctx.Err() != nil {
		s.stopLocked()
		return 0, nil, nil, false
	}
	in, err = s.up()
	seq = s.seq
	s.seq++
	if err != nil {
		s.stopLocked()
	}
	return seq, in, err, true
}

// stopReading stops reading, once it is safe to: after a read in progress.
func (s *parStage[T, U]) stopReading() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// stopLocked stops reading and, when the workers read the source view,
// closes it: the connection goes back now, not when the reader is done.
func (s *parStage[T, U]) stopLocked() {
	if s.stopped {
		return
	}
	s.stopped = true
	if s.ownsSource {
		s.c.src.do()
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

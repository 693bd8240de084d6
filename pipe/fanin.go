package pipe

import (
	"container/heap"
	"context"
	"fmt"
	"sync"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/ladder"
)

// manySources closes and interrupts several views as one source.
func manySources[T any](views []*buffered.View[T]) *sourceCloser {
	return &sourceCloser{
		close: func() {
			for _, v := range views {
				v.Close()
			}
		},
		interrupt: func() {
			for _, v := range views {
				v.Interrupt()
			}
		},
	}
}

// fanItem is a chunk from one input of FanIn, or the error that ended it.
type fanItem[T any] struct {
	rows []T
	err  error
}

// FanIn reads several views (streams from several servers, shards or
// replicas; or buffered results) at once and returns their rows in one pipe,
// in no particular order across inputs (each input's rows keep their own
// order). Each input is read by a goroutine of its own, which hands over
// chunks of at most 256 rows through a channel of len(views) chunks, so
// memory stays bounded whatever the row counts, and a slow consumer slows
// every input (each stream's producer then stops reading its socket).
//
// The pipe ends when every input has ended. An error from any input (its
// server's error, a decode error, its context) ends the pipe with that
// error, naming the input's position, and stops the other inputs: their
// queries are cancelled and their connections released, as on every other
// way out (a break, Close, the context).
func FanIn[T any](ctx context.Context, views ...*buffered.View[T]) *Pipe[T] {
	cctx, cancel := context.WithCancelCause(ctx)
	c := &chain{ctx: cctx, cancel: cancel, src: manySources(views)}
	out := make(chan fanItem[T], max(1, len(views)))
	c.starter = append(c.starter, func() {
		var readers sync.WaitGroup
		for i, v := range views {
			c.wg.Add(1)
			readers.Add(1)
			go func() { // owned by the chain: stop waits for it
				defer c.wg.Done()
				defer readers.Done()
				fanRead(cctx, i, v, out)
			}()
		}
		c.wg.Add(1)
		go func() { // owned by the chain: closes out once every reader is done
			defer c.wg.Done()
			readers.Wait()
			close(out)
		}()
	})
	pull := func() ([]T, error) {
		if it, ok := <-out; ok {
			return it.rows, it.err
		}
		if cctx.Err() != nil {
			return nil, context.Cause(cctx)
		}
		return nil, errEnd
	}
	return &Pipe[T]{c: c, pull: pull}
}

// fanRead hands the rows of input i to out until it ends, fails, or ctx
// ends.
func fanRead[T any](ctx context.Context, i int, v *buffered.View[T], out chan<- fanItem[T]) {
	sizes := ladder.New(maxChunk)
	for {
		b, err := v.FetchAvailable(sizes.Next())
		if ctx.Err() != nil {
			return // stopped: an interrupted read may look like an end or an error
		}
		if len(b) > 0 {
			select {
			case out <- fanItem[T]{rows: b}:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			select {
			case out <- fanItem[T]{err: fmt.Errorf("pipe: FanIn: input %d: %w", i, err)}:
			case <-ctx.Done():
			}
			return
		}
		if len(b) == 0 {
			return // this input has ended
		}
	}
}

// Merge reads several views whose rows are each sorted by cmp (the same
// ORDER BY run on every shard) and returns their rows in one pipe, in cmp
// order: a k-way merge. Rows that compare equal come in the order of their
// inputs. cmp returns a negative number when a sorts before b, zero when
// they tie, a positive number otherwise (as slices.SortFunc's).
//
// Merge starts no goroutine: it reads the inputs on the goroutine that pulls
// the pipe, holding at most one chunk (256 rows) of each; a stream input
// keeps reading ahead in its own producer, within its own memory bound. An
// input that is not in cmp's order makes the pipe fail with an error naming
// it, rather than produce rows out of order. An error from any input ends
// the pipe and stops the others, as in FanIn.
func Merge[T any](ctx context.Context, cmp func(a, b T) int, views ...*buffered.View[T]) *Pipe[T] {
	cctx, cancel := context.WithCancelCause(ctx)
	c := &chain{ctx: cctx, cancel: cancel, src: manySources(views)}
	m := &merger[T]{ctx: cctx, cmp: cmp, refill: -1}
	for _, v := range views {
		m.ins = append(m.ins, &mergeInput[T]{v: v, sizes: ladder.New(maxChunk)})
	}
	return &Pipe[T]{c: c, pull: m.pull, local: true}
}

// mergeInput is one input of a Merge: its view and the rows at hand.
type mergeInput[T any] struct {
	v     *buffered.View[T]
	sizes ladder.Ladder
	buf   []T
	done  bool
	last  T // the last row taken, to check the input's order
	taken bool
}

// merger is a k-way merge over its inputs' next rows, kept in a heap of
// input positions ordered by those rows (ties by position).
type merger[T any] struct {
	ctx    context.Context
	cmp    func(a, b T) int
	ins    []*mergeInput[T]
	heap   []int // positions of the inputs with rows at hand
	primed bool
	refill int // an input (the heap's top) whose rows ran out, -1 if none
}

func (m *merger[T]) Len() int { return len(m.heap) }
func (m *merger[T]) Less(a, b int) bool {
	i, j := m.heap[a], m.heap[b]
	if c := m.cmp(m.ins[i].buf[0], m.ins[j].buf[0]); c != 0 {
		return c < 0
	}
	return i < j
}
func (m *merger[T]) Swap(a, b int) { m.heap[a], m.heap[b] = m.heap[b], m.heap[a] }
func (m *merger[T]) Push(x any)    { m.heap = append(m.heap, x.(int)) }
func (m *merger[T]) Pop() any {
	x := m.heap[len(m.heap)-1]
	m.heap = m.heap[:len(m.heap)-1]
	return x
}

// fill reads input i until it has rows at hand or has ended.
func (m *merger[T]) fill(i int) error {
	in := m.ins[i]
	for len(in.buf) == 0 && !in.done {
		if m.ctx.Err() != nil {
			return context.Cause(m.ctx)
		}
		b, err := in.v.FetchAvailable(in.sizes.Next())
		if m.ctx.Err() != nil {
			return context.Cause(m.ctx) // an interrupted read may look like the end
		}
		if err != nil {
			return fmt.Errorf("pipe: Merge: input %d: %w", i, err)
		}
		if len(b) == 0 {
			in.done = true
		}
		in.buf = b
	}
	return nil
}

// pull merges up to one chunk of rows. It returns the rows it has before it
// would wait on an input, so rows already at hand are not held back.
func (m *merger[T]) pull() ([]T, error) {
	if !m.primed {
		m.primed = true
		for i := range m.ins {
			if err := m.fill(i); err != nil {
				return nil, err
			}
			if !m.ins[i].done {
				m.heap = append(m.heap, i)
			}
		}
		heap.Init(m)
	}
	var out []T
	for len(out) < maxChunk {
		if m.refill >= 0 {
			if len(out) > 0 {
				return out, nil // hand these over before waiting on the input
			}
			if err := m.fill(m.refill); err != nil {
				return nil, err
			}
			if m.ins[m.refill].done {
				heap.Remove(m, 0)
			} else {
				heap.Fix(m, 0)
			}
			m.refill = -1
		}
		if len(m.heap) == 0 {
			if len(out) > 0 {
				return out, nil
			}
			return nil, errEnd
		}
		i := m.heap[0]
		in := m.ins[i]
		row := in.buf[0]
		if in.taken && m.cmp(in.last, row) > 0 {
			return out, fmt.Errorf("pipe: Merge: input %d is not in the merge's order: a row sorts before the one it came after (each input must be sorted by the same order, for example the same ORDER BY)", i)
		}
		in.last, in.taken = row, true
		in.buf = in.buf[1:]
		out = append(out, row)
		if len(in.buf) == 0 {
			m.refill = i
		} else {
			heap.Fix(m, 0)
		}
	}
	return out, nil
}

package main

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/stream"
)

// rowSource is what encodeRows reads: raw rows, one at a time, valid until
// the next FetchOne. close ends the source on every way out, bounded.
type rowSource interface {
	FetchOne() ([][]byte, bool)
	Err() error
	close()
}

// rawRows reads a raw view a batch at a time (FetchRawBatch) and hands
// out its rows one by one: the view's per-read work is paid once per
// batch, not once per row. The values are valid until the next call.
type rawRows struct {
	v    *buffered.View[[][]byte]
	b    buffered.RawBatch
	i    int
	vals [][]byte
}

// next returns the next row, or false when the view has none left (its
// Err says why when that is not the end).
func (r *rawRows) next() ([][]byte, bool) {
	if r.i >= r.b.Len() {
		b, ok := r.v.FetchRawBatch()
		if !ok {
			return nil, false
		}
		r.b, r.i = b, 0
	}
	r.vals = r.b.Row(r.i, r.vals)
	r.i++
	return r.vals, true
}

// ready reports whether the next row is in the batch at hand, so next
// will not wait (false may still find the next batch ready).
func (r *rawRows) ready() bool { return r.i < r.b.Len() }

// fieldsOf describes a stream's columns for the encoder, in the format
// each was asked in.
func fieldsOf(res *stream.Result) []pgconn.FieldDescription {
	cols := res.ColumnTypes()
	out := make([]pgconn.FieldDescription, len(cols))
	for i, c := range cols {
		out[i] = pgconn.FieldDescription{Name: c.Name, DataTypeOID: c.TypeOID, TypeModifier: c.TypeMod, Format: c.Format}
	}
	return out
}

// inOrder reads several streams one after the other, without copying: the
// slices of a --split-by export, in key order. A stream that waits for its
// turn holds at most its own bounded buffer; its producer then stops
// reading the socket, and its backend waits (the readers ahead are
// throttled, nothing is spilled).
type inOrder struct {
	views []*buffered.View[[][]byte]
	i     int
	cur   rawRows
	err   error
	stop  func() // closes every stream, bounded
}

func (s *inOrder) FetchOne() ([][]byte, bool) {
	for s.i < len(s.views) {
		if s.cur.v != s.views[s.i] {
			s.cur = rawRows{v: s.views[s.i], vals: s.cur.vals}
		}
		if vals, ok := s.cur.next(); ok {
			return vals, true
		}
		if s.err = s.views[s.i].Err(); s.err != nil {
			return nil, false
		}
		s.i++
	}
	return nil, false
}

func (s *inOrder) Err() error { return s.err }
func (s *inOrder) close()     { s.stop() }

// chunk is rows copied out of a stream into one buffer, so they can cross
// to the writing goroutine in one piece: one allocation per chunk (reused),
// not one per value.
type chunk struct {
	buf  []byte
	ends []int32 // per value: end offset in buf; -1 is NULL
	ncol int
	rows int
}

const (
	chunkRows  = 256
	chunkBytes = 1 << 20
)

func (c *chunk) reset(ncol int) {
	c.buf, c.ends, c.ncol, c.rows = c.buf[:0], c.ends[:0], ncol, 0
}

func (c *chunk) add(vals [][]byte) {
	for _, v := range vals {
		if v == nil {
			c.ends = append(c.ends, -1)
			continue
		}
		c.buf = append(c.buf, v...)
		c.ends = append(c.ends, int32(len(c.buf)))
	}
	c.rows++
}

func (c *chunk) full() bool { return c.rows >= chunkRows || len(c.buf) >= chunkBytes }

// row writes row i's values into dst (len ncol).
func (c *chunk) row(i int, dst [][]byte) {
	start := 0
	if i > 0 {
		start = c.lastEnd(i*c.ncol - 1)
	}
	for j := range c.ncol {
		e := c.ends[i*c.ncol+j]
		if e < 0 {
			dst[j] = nil
			continue
		}
		dst[j] = c.buf[start:e:e]
		start = int(e)
	}
}

// lastEnd is where the values up to index k end.
func (c *chunk) lastEnd(k int) int {
	for ; k >= 0; k-- {
		if c.ends[k] >= 0 {
			return int(c.ends[k])
		}
	}
	return 0
}

// fanItem is a chunk of one input, or the error that ended it.
type fanItem struct {
	c   *chunk
	err error
}

// fanIn reads several streams at once, one goroutine each, and hands their
// rows over in chunks as they come (no order across inputs); a chunk goes
// when it is full or when its stream has no further row at hand. Memory: each
// stream's own bound, plus at most 2 chunks per input (in the channel and
// being filled) and the one being written. A slow writer blocks the
// readers, whose streams then stop reading their sockets.
type fanIn struct {
	views  []*buffered.View[[][]byte]
	ctx    context.Context
	cancel context.CancelFunc
	out    chan fanItem
	free   chan *chunk
	wg     sync.WaitGroup
	stop   func() // closes every stream, bounded; after the readers ended

	cur  *chunk
	pos  int
	vals [][]byte
	err  error
	once sync.Once
}

func newFanIn(ctx context.Context, views []*buffered.View[[][]byte], ncol int, stop func()) *fanIn {
	f := &fanIn{views: views, out: make(chan fanItem, len(views)), free: make(chan *chunk, 2*len(views)+1), stop: stop, vals: make([][]byte, ncol)}
	f.ctx, f.cancel = context.WithCancel(ctx)
	for range cap(f.free) {
		f.free <- &chunk{}
	}
	var readers sync.WaitGroup
	for _, v := range views {
		readers.Add(1)
		f.wg.Add(1)
		go func() { // owned by f: close waits for it
			defer f.wg.Done()
			defer readers.Done()
			f.read(v, ncol)
		}()
	}
	f.wg.Add(1)
	go func() { // owned by f: closes out once every reader has ended
		defer f.wg.Done()
		readers.Wait()
		close(f.out)
	}()
	return f
}

// read copies v's rows into chunks until it ends, fails or f stops.
func (f *fanIn) read(v *buffered.View[[][]byte], ncol int) {
	var c *chunk
	rr := rawRows{v: v}
	send := func(it fanItem) bool {
		select {
		case f.out <- it:
			return true
		case <-f.ctx.Done():
			return false
		}
	}
	for {
		if c == nil {
			select {
			case c = <-f.free:
				c.reset(ncol)
			case <-f.ctx.Done():
				return
			}
		}
		vals, ok := rr.next()
		if !ok {
			if c.rows > 0 && !send(fanItem{c: c}) {
				return
			}
			if err := v.Err(); err != nil {
				send(fanItem{err: err})
			}
			return
		}
		c.add(vals)
		// hand the chunk over when it is full, or when the next row has
		// not arrived yet: rows that came are not held back for more
		if c.full() || !rr.ready() {
			if !send(fanItem{c: c}) {
				return
			}
			c = nil
		}
	}
}

func (f *fanIn) FetchOne() ([][]byte, bool) {
	for f.cur == nil || f.pos >= f.cur.rows {
		if f.cur != nil {
			f.free <- f.cur
			f.cur = nil
		}
		it, ok := <-f.out
		if !ok || f.err != nil {
			return nil, false
		}
		if it.err != nil {
			f.err = it.err
			return nil, false
		}
		f.cur, f.pos = it.c, 0
	}
	f.cur.row(f.pos, f.vals)
	f.pos++
	return f.vals, true
}

func (f *fanIn) Err() error { return f.err }

// close stops the readers (interrupting reads in progress, which is safe
// from any goroutine), waits for them, then closes the streams.
func (f *fanIn) close() {
	f.once.Do(func() {
		f.cancel()
		for _, v := range f.views {
			v.Interrupt()
		}
		f.wg.Wait()
		f.stop()
	})
}

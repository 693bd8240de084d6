package buffered

import (
	"fmt"
	"iter"
	"slices"
)

// View reads the rows of a result as values of type T. Result, RowView and
// every view share one read position: a row read through one is gone for all.
//
// Methods that consume say so. Reads that find the result closed fail with
// ErrClosed; methods without an error result then return nothing, and Err
// says why. A View is not safe for concurrent use.
type View[T any] struct {
	rs   *readState
	proj projection
	conv func(rawRow, *T) error // writes the row into *T, which next has zeroed; nil until the first read when fork is set
	// fork makes a converter like conv on other columns (a copy with its own
	// type map), for All's parallel decoding; nil when the view cannot fork
	fork func(*columns) func(rawRow, *T) error
	// own, when set, makes a converted value independent of the block it
	// came from, for values kept past the next read (All, FetchMany, Partitions)
	own func(*T)
	// uniq, when set, skips rows equal to one the view returned before
	uniq *uniqueFilter
	bad  error // a view that could not be built (unknown column, bad type): every read fails with it
	// scratch is what nextValue converts into; zero between calls
	scratch T
}

// derive returns a view of the same result as from over columns p, with
// from's failure (err, when from has none) and from's unique strategy. Every
// view but a result's first is made here, so that no kind of view can forget
// either; the caller sets conv (and fork, own) when the view is not bad.
func derive[T, F any](from *View[F], p projection, err error) *View[T] {
	v := &View[T]{rs: from.rs, proj: p, bad: from.bad}
	if v.bad == nil {
		v.bad = err
	}
	switch {
	case from.uniq == nil:
	case slices.Equal(from.uniq.proj, p):
		// the same rows judged the same way: share what was seen, so rows
		// read through from are not returned again (as the reference's views
		// share the result's unique state)
		v.uniq = from.uniq
	default:
		v.uniq = from.uniq.how.filter(from.rs.cols, p)
	}
	return v
}

// next reads the next value that passes the view's filters into *dst, and
// reports whether there was one. Converting in place lets All and
// Partitions scan straight into their result slices, with no copy and no
// allocation per row.
func (v *View[T]) next(op string, dst *T) (bool, error) {
	if v.bad != nil {
		return false, opError(op, v.bad)
	}
	if v.conv == nil {
		v.conv = v.fork(v.rs.cols) // a view that sets only fork makes conv at its first read
	}
	var zero T
	for {
		r, ok, err := v.rs.next(op)
		if !ok {
			return false, err
		}
		*dst = zero // a scan must not reuse what a previous row left (slices, pointers)
		if err := v.conv(r, dst); err != nil {
			v.rs.fail(opError(op, err))
			return false, v.rs.failure
		}
		if v.uniq != nil {
			dup, err := v.uniq.seen(r, dst)
			if err != nil {
				v.rs.fail(opError(op, err))
				return false, v.rs.failure
			}
			if dup {
				continue
			}
		}
		return true, nil
	}
}

// nextValue is next for callers that want the value. It converts into
// the view's scratch value rather than a local one: a local would escape
// through the converter (an indirect call) and cost an allocation per row.
func (v *View[T]) nextValue(op string) (T, bool, error) {
	ok, err := v.next(op, &v.scratch)
	x := v.scratch
	var zero T
	v.scratch = zero // hold nothing of the row past the call
	return x, ok, err
}

// collect appends up to n rows (n < 0: all) to out, converting each in
// place in out's backing array.
func (v *View[T]) collect(op string, out []T, n int) ([]T, error) {
	var zero T
	for n < 0 || len(out) < n {
		if len(out) == cap(out) {
			// read the row before growing out, so a result that filled
			// out exactly (All sizes it to the rows left) does not grow it
			// for a row that is not there
			var x T
			ok, err := v.next(op, &x)
			if err != nil || !ok {
				return out, err
			}
			if v.own != nil {
				v.own(&x)
			}
			out = append(out, x)
			continue
		}
		out = append(out, zero)
		ok, err := v.next(op, &out[len(out)-1])
		if err != nil || !ok {
			return out[:len(out)-1], err
		}
		if v.own != nil {
			v.own(&out[len(out)-1])
		}
	}
	return out, nil
}

// valueConv adapts a converter that returns its value.
func valueConv[T any](f func(rawRow) (T, error)) func(rawRow, *T) error {
	return func(r rawRow, dst *T) error {
		x, err := f(r)
		*dst = x
		return err
	}
}

// note records the outcome of a read that has no error result, for Err.
func (v *View[T]) note(err error) { v.rs.lastErr = err }

// All returns every remaining row and leaves the result exhausted: later
// fetches return nothing. It consumes the result. When no rows remain it
// returns an empty, non-nil slice; on failure it returns nil and Err says
// why; it never returns part of the rows as if they were all.
func (v *View[T]) All() []T {
	if out, done, err := v.parallelAll(); done {
		v.note(err)
		return out
	}
	// empty, not nil: nil is kept for failure, as in FetchMany
	out, err := v.collect("All", make([]T, 0, v.rs.sizeHint(-1)), -1)
	v.note(err)
	if err != nil {
		return nil
	}
	return out
}

// FetchOne returns the next row and true, or false when there is none: the
// result is then exhausted, or Err says what went wrong.
func (v *View[T]) FetchOne() (T, bool) {
	x, ok, err := v.nextValue("FetchOne")
	v.note(err)
	return x, ok
}

// FetchMany returns up to n further rows; an empty slice once exhausted.
// n = 0 means the result's fetch size (ViewOptions.FetchSize, else
// DefaultFetchSize), as the reference's fetchmany() with no size uses the
// result's yield_per: never all the rows (FetchAll or All say that). On
// failure, or when n < 0, it returns nil and Err says why.
func (v *View[T]) FetchMany(n int) []T {
	n, err := v.fetchSize("FetchMany", n)
	if err != nil {
		v.note(err)
		return nil
	}
	out, err := v.collect("FetchMany", make([]T, 0, v.rs.sizeHint(n)), n)
	v.note(err)
	if err != nil {
		return nil
	}
	return out
}

// FetchAll is All, under the name of the reference's fetchall().
func (v *View[T]) FetchAll() []T { return v.All() }

// DefaultFetchSize is the rows FetchMany(0) returns and Partitions(0) puts
// in a chunk when the result sets no ViewOptions.FetchSize: the largest
// batch a stream reads by default (stream.Options.MaxBatch; SQLAlchemy's
// max_row_buffer), so a default chunk costs what one batch of the wire does.
const DefaultFetchSize = 1000

// fetchSize resolves a FetchMany or Partitions size: 0 is the result's.
func (v *View[T]) fetchSize(op string, n int) (int, error) {
	def := v.rs.fetchSize
	if def <= 0 {
		def = DefaultFetchSize
	}
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, opErrorf(op, "size must be 0 (the default, %d) or more, got %d", def, n)
	}
	return n, nil
}

// Rows returns an iterator over the remaining rows. An error is yielded once,
// after the rows before it, and ends the loop. Running to the end exhausts
// the result; after a break, a buffered result can be read on from where it
// stopped, while a stream is closed (its connection released).
func (v *View[T]) Rows() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		done := false
		defer func() {
			// break, or a panic in the loop body
			if !done && v.rs.breakCloses {
				v.rs.close()
			}
		}()
		var x T // one per loop, reused: yield gets a copy
		for {
			ok, err := v.next("Rows", &x)
			if err != nil {
				done = true
				v.note(err)
				var zero T
				yield(zero, err)
				return
			}
			if !ok {
				done = true
				return
			}
			if !yield(x, nil) {
				return
			}
		}
	}
}

// Partitions returns an iterator over the remaining rows in chunks of at most
// size rows (the last may be shorter; never empty); size 0 means the
// result's fetch size, as in FetchMany. Each chunk is a new slice the caller may keep. Errors
// and early exit behave as in Rows.
func (v *View[T]) Partitions(size int) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		size, err := v.fetchSize("Partitions", size)
		if err != nil {
			v.note(err)
			yield(nil, err)
			return
		}
		done := false
		defer func() {
			if !done && v.rs.breakCloses {
				v.rs.close()
			}
		}()
		for {
			chunk, err := v.collect("Partitions", make([]T, 0, v.rs.sizeHint(size)), size)
			if err != nil {
				done = true
				v.note(err)
				yield(nil, err)
				return
			}
			if len(chunk) == 0 {
				done = true
				return
			}
			if !yield(chunk, nil) {
				return
			}
		}
	}
}

// First returns the first row and closes the result, discarding the rest
// (no LIMIT is added to the SQL: prefer one in the query). No row:
// ErrNoRows.
func (v *View[T]) First() (T, error) { return v.first("First") }

func (v *View[T]) first(op string) (T, error) {
	x, ok, err := v.nextValue(op)
	v.rs.close()
	if err == nil && !ok {
		err = opError(op, ErrNoRows)
	}
	return x, err
}

// One returns the only row and closes the result. No row: ErrNoRows; more
// than one: ErrMultipleRows (with Unique, rows equal to the first do not
// count).
func (v *View[T]) One() (T, error) { return v.one("One") }

func (v *View[T]) one(op string) (T, error) {
	x, found, err := v.oneOrNone(op)
	if err == nil && !found {
		err = opError(op, ErrNoRows)
	}
	return x, err
}

// OneOrNone returns the only row and true, or false when there is none, and
// closes the result. More than one row: ErrMultipleRows.
func (v *View[T]) OneOrNone() (T, bool, error) {
	return v.oneOrNone("OneOrNone")
}

func (v *View[T]) oneOrNone(op string) (T, bool, error) {
	var zero T
	defer v.rs.close()
	x, ok, err := v.nextValue(op)
	if err != nil || !ok {
		return zero, false, err
	}
	_, more, err := v.nextValue(op)
	switch {
	case err != nil:
		return zero, false, err
	case more:
		return zero, false, opError(op, ErrMultipleRows)
	}
	return x, true, nil
}

// FetchAvailable returns up to max further rows, blocking only until the
// first is at hand: it then takes the rows already received (the rest of
// the current block) and stops, so a pipeline stage (package pipe) reading
// chunks never waits for rows that have not arrived. It returns an empty slice once exhausted; an
// error comes with the rows read before it. max < 1 is an error.
func (v *View[T]) FetchAvailable(max int) ([]T, error) {
	if max < 1 {
		return nil, opErrorf("FetchAvailable", "max must be at least 1, got %d", max)
	}
	var zero T
	out := make([]T, 0, min(max, guessMaxRows))
	for len(out) < max {
		if len(out) > 0 && (v.rs.blk == nil || v.rs.pos >= v.rs.blk.nrow) {
			break // the next row would wait for the source
		}
		out = append(out, zero)
		ok, err := v.next("FetchAvailable", &out[len(out)-1])
		if err != nil || !ok {
			return out[:len(out)-1], err
		}
		if v.own != nil {
			v.own(&out[len(out)-1])
		}
	}
	return out, nil
}

// Interrupt asks the source to stop from any goroutine: reads of a stream
// get the rows already sent, then an error (package stream's
// ErrInterrupted), once the producer has stopped and cancelled the query. It is the one method that is safe to
// call concurrently with a read; Close afterwards as usual. For a buffered
// result it does nothing.
func (v *View[T]) Interrupt() {
	if i, ok := v.rs.src.(Interrupter); ok {
		i.Interrupt()
	}
}

// Close closes the result (and every view of it): later reads fail with
// ErrClosed. For a stream it stops the query and releases the connection.
// Close is idempotent.
func (v *View[T]) Close() { v.rs.close() }

// Closed reports whether the result was closed (by Close or a one-answer
// method); an exhausted result is not closed.
func (v *View[T]) Closed() bool { return v.rs.st == closed }

// Err returns the error that ended the result (a server error mid-stream, a
// decode error), or else why the last read without an error result returned
// nothing (ErrClosed, a bad argument). Nil after a clean read or Close.
func (v *View[T]) Err() error {
	if v.bad != nil {
		return fmt.Errorf("buffered: %w", v.bad)
	}
	return v.rs.err()
}

// Unique makes this view skip rows equal to one it already returned, and
// returns the view itself (as the reference's unique(), it changes the view
// in place: `v.Unique(); v.All()` de-duplicates). Rows are equal when their
// wire values are byte-identical (so numeric 1.0 and 1.00 differ). The
// filter runs after the others, and FetchMany and Partitions still return n
// distinct rows. Views derived from a Unique view de-duplicate the same way.
// It keeps a key per distinct row in memory.
func (v *View[T]) Unique() *View[T] {
	v.setUnique(&uniqueness{})
	return v
}

// UniqueBy is Unique with a caller-chosen key: rows whose keys are == are
// duplicates. key must return a comparable value (not a slice or map);
// otherwise the read fails with an error. Like Unique it changes the view in
// place and returns it.
func (v *View[T]) UniqueBy(key func(T) any) *View[T] {
	// a key over Rows or Mappings can judge the rows of derived views too
	switch k := any(key).(type) {
	case func(Row) any:
		v.setUnique(byRowKey(k))
	case func(Mapping) any:
		v.setUnique(byMappingKey(k))
	default:
		v.setUnique(byValueKey(key))
	}
	return v
}

// setUnique gives the view a fresh filter of strategy how.
func (v *View[T]) setUnique(how *uniqueness) {
	v.uniq = how.filter(v.rs.cols, v.proj)
}

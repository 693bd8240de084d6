package pipe

import (
	"fmt"
	"runtime/debug"
)

// Map returns a pipe of fn applied to each row of p, in order. An error from
// fn ends the pipe: the rows mapped before it are delivered, then the error.
//
// fn runs on the goroutine that pulls the stage, one chunk at a time: the
// consumer's, or (when a ParallelMap follows) that stage's workers, one at a
// time.
// Map costs no goroutine and holds no chunk beyond the one it maps.
//
// A panic in fn is recovered and returned as a *PanicError, carrying the
// panic value and stack, from the iterator (and Err): it is not re-raised,
// because fn may run on a goroutine the caller cannot recover on.
func Map[T, U any](p *Pipe[T], fn func(T) (U, error)) *Pipe[U] {
	up, err := p.take("Map")
	q := &Pipe[U]{c: p.c, local: p.local}
	if err != nil {
		q.pull = failedPull[U](err)
		return q
	}
	q.pull = func() ([]U, error) {
		b, err := up()
		if len(b) == 0 {
			return nil, err
		}
		out, ferr := mapChunk(b, fn)
		if ferr != nil {
			return out, ferr
		}
		return out, err
	}
	return q
}

// Filter returns a pipe of the rows of p for which keep returns true, in
// order. An error (or a panic, see Map) from keep ends the pipe after the
// rows kept before it.
//
// keep runs as Map's fn does: on the goroutine that pulls the stage, one
// chunk at a time. Filter costs no goroutine; it filters each chunk in place.
func Filter[T any](p *Pipe[T], keep func(T) (bool, error)) *Pipe[T] {
	up, err := p.take("Filter")
	q := &Pipe[T]{c: p.c, local: p.local}
	if err != nil {
		q.pull = failedPull[T](err)
		return q
	}
	q.pull = func() ([]T, error) {
		for {
			b, err := up()
			if len(b) == 0 {
				return nil, err
			}
			out, ferr := filterChunk(b, keep)
			if ferr != nil {
				return out, ferr
			}
			if len(out) > 0 || err != nil {
				return out, err
			}
		}
	}
	return q
}

func mapChunk[T, U any](in []T, fn func(T) (U, error)) (out []U, err error) {
	out = make([]U, 0, len(in))
	defer recoverStage(&err)
	for _, x := range in {
		y, ferr := fn(x)
		if ferr != nil {
			return out, ferr
		}
		out = append(out, y)
	}
	return out, nil
}

// filterChunk compacts in in place: it owns the chunk.
func filterChunk[T any](in []T, keep func(T) (bool, error)) (out []T, err error) {
	out = in[:0]
	defer recoverStage(&err)
	for _, x := range in {
		ok, ferr := keep(x)
		if ferr != nil {
			return out, ferr
		}
		if ok {
			out = append(out, x)
		}
	}
	return out, nil
}

// recoverStage, deferred, turns a panic in a stage function into a
// *PanicError in *err.
func recoverStage(err *error) {
	if r := recover(); r != nil {
		*err = &PanicError{Value: r, Stack: debug.Stack()}
	}
}

// PanicError is the error a pipe ends with when a stage function (Map,
// Filter, ParallelMap) panics: a panic in a stage is returned as an error
// from the iterator, All and Err, after the rows before it, and is not
// re-raised. Value is what was passed to panic, Stack the panicking
// goroutine's stack. errors.Is and errors.As see through to Value when it is
// an error.
type PanicError struct {
	Value any
	Stack []byte
}

// Error returns the panic value and the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("pipe: panic in a pipe stage: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns Value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// Limit returns a pipe of the first n rows of p (all of them when p has
// fewer), as SQL's LIMIT applied after the stages before it: after a Merge
// of shards, the first n rows in the merged order. Once it has n rows it
// ends the pipe, which stops the stages and the source (for streams: their
// queries are cancelled, their connections released). Limit costs no
// goroutine.
func Limit[T any](p *Pipe[T], n int) *Pipe[T] {
	up, err := p.take("Limit")
	q := &Pipe[T]{c: p.c, local: p.local}
	if err == nil && n < 0 {
		err = fmt.Errorf("pipe: Limit: n must be at least 0, got %d", n)
	}
	if err != nil {
		q.pull = failedPull[T](err)
		return q
	}
	left := n
	q.pull = func() ([]T, error) {
		if left == 0 {
			return nil, errEnd
		}
		b, err := up()
		if len(b) >= left {
			b, left = b[:left], 0
			return b, nil // the next pull ends the pipe
		}
		left -= len(b)
		return b, err
	}
	return q
}

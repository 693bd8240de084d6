package buffered

import (
	"runtime"

	"github.com/sourcegraph/conc"
)

// parallelMinRows is the fewest rows per worker for which All decodes a
// buffered result on several goroutines: below it, starting them costs more
// than it saves.
const parallelMinRows = 16 << 10

// parallelAll is All for a large result held in memory: the rows are
// already fetched, so they are decoded by up to GOMAXPROCS workers, each on
// its own copy of the column metadata (a pgtype.Map is not safe for
// concurrent use), straight into their places in the result slice. It
// reports done=false when it does not apply (a stream, a Unique filter, a
// view that cannot fork, or too few rows) and leaves the result untouched.
// On a decode error the result is nil and the result fails with the error
// of the earliest bad row, as the sequential path would.
func (v *View[T]) parallelAll() (out []T, done bool, err error) {
	s := v.rs
	src, ok := s.src.(*blocks)
	if !ok || v.fork == nil || v.uniq != nil || v.bad != nil || s.readable("All") != nil {
		return nil, false, nil
	}
	n := s.sizeHint(-1)
	workers := min(runtime.GOMAXPROCS(0), n/parallelMinRows)
	if workers < 2 {
		return nil, false, nil
	}
	out, err = v.decodeParallel(src, n, workers)
	return out, true, err
}

// decodeParallel is parallelAll's work, apart so that the checks above,
// which run for every All, allocate nothing (the workers' closures move
// what they capture to the heap).
func (v *View[T]) decodeParallel(src *blocks, n, workers int) ([]T, error) {
	s := v.rs
	list := src.list
	if s.blk != nil && s.pos < s.blk.nrow {
		list = append([]*Block{s.blk.from(s.pos)}, list...)
	}
	src.list, s.blk = nil, nil

	out := make([]T, n)
	type failure struct {
		row int
		err error
	}
	fails := make([]failure, workers)
	var wg conc.WaitGroup
	start, b := 0, 0
	for w := range workers {
		// contiguous runs of whole blocks, about n/workers rows each
		first, from := b, start
		for b < len(list) && (w == workers-1 || start-from < n/workers) {
			start += list[b].nrow
			b++
		}
		blocks := list[first:b]
		wg.Go(func() {
			conv := v.fork(s.cols.clone())
			k := from
			for j, blk := range blocks {
				for i := range blk.nrow {
					if err := conv(rawRow{blk, i}, &out[k]); err != nil {
						fails[w] = failure{k, err}
						return
					}
					k++
				}
				blocks[j] = nil // decoded: the collector may take it while the rest decode
			}
		})
	}
	wg.Wait()
	s.st = exhausted
	s.release()
	for _, f := range fails { // in row order: the first failing worker has the earliest row
		if f.err != nil {
			s.fail(opError("All", f.err))
			return nil, s.failure
		}
	}
	return out, nil
}

package buffered

import (
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
)

// Frozen is a snapshot of rows, made by Freeze, that can be read any number
// of times: each call of Result returns a new, independent Result over the
// same rows. It is safe to call Result from several goroutines.
type Frozen struct {
	cols   *columns
	proj   projection // the columns of the view that was frozen
	blocks []*Block
	n      int
}

func (f *Frozen) add(b *Block) {
	f.blocks = append(f.blocks, b)
	f.n += b.nrow
}

// Len returns the number of rows in the snapshot.
func (f *Frozen) Len() int { return f.n }

// Result returns a new Result over the snapshot's rows, positioned at the
// first. Each Result has its own type map, so results made from one Frozen
// may be read concurrently.
func (f *Frozen) Result() *Result {
	cols := f.cols.clone()
	// a list of its own: a result lets go of the blocks it has read
	rv := rowViewOver(&readState{cols: cols, src: &blocks{list: slices.Clone(f.blocks)}}, f.proj)
	return &Result{RowView: rv, n: f.n, tag: pgconn.NewCommandTag("SELECT " + strconv.Itoa(f.n))}
}

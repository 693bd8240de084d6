package buffered

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Result is a statement's complete result held in memory: every row was
// fetched before it was made, and the connection was released. It is a
// RowView (see RowView and View for the reading vocabulary) plus what only a
// complete result knows: its length and its command tag.
//
// Memory: the raw wire bytes of the values plus 4 bytes per value, in blocks
// with almost no unused room; rows are decoded as they are read.
type Result struct {
	*RowView
	n   int
	tag pgconn.CommandTag
}

// Len returns the number of rows the result holds in all, whatever has been
// read.
func (r *Result) Len() int { return r.n }

// CommandTag returns the server's command tag ("SELECT 3", "UPDATE 2", ...).
func (r *Result) CommandTag() pgconn.CommandTag { return r.tag }

// RowsAffected returns the row count of the command tag: rows returned by a
// SELECT, or rows changed by INSERT, UPDATE, DELETE, MERGE or COPY.
func (r *Result) RowsAffected() int64 { return r.tag.RowsAffected() }

// ReturnsRows reports whether the statement returns rows (a SELECT, or DML
// with RETURNING). Reads from a result that does not fail with
// ErrNotReturningRows.
func (r *Result) ReturnsRows() bool { return !r.rs.noRows }

// Sizes of the blocks FromRows fills. Large enough that a block costs
// little per row, small enough that growing one does not copy much.
// A result's first block starts small, so a one-row answer does not pay
// for 1024 rows, and grows by append.
const (
	blockRows       = 1024
	blockBytes      = 256 << 10
	firstBlockRows  = 8
	firstBlockBytes = 512
)

// FromRows reads every row of rows into a new Result and closes rows (with
// a pool, that returns the connection). A server error anywhere in the
// result is returned as it came (a *pgconn.PgError), with no partial Result.
//
// Cost: one copy of the wire bytes, in blocks of up to 1024 rows (a block
// that grew past its values' size is copied once more, to its exact size);
// no decoding until the rows are read.
func FromRows(rows pgx.Rows) (*Result, error) {
	defer rows.Close()
	fields := rows.FieldDescriptions()
	var connMap *pgtype.Map
	if conn := rows.Conn(); conn != nil {
		connMap = conn.TypeMap()
	}
	cols := newColumns(fields, connMap)
	parts := &resultParts{}
	list := parts.first[:0]
	// later blocks are sized from the last
	ncol := len(fields)
	firstRows, firstBytes := cols.firstBlockSize()
	b := NewBlock(ncol, firstRows, firstBytes)
	// The first block grows by append; later ones are sized from the block
	// before and cut when the next row would make them grow, so the blocks
	// a result keeps have (almost) no unused room.
	grow := true
	n := 0
	for rows.Next() {
		values := rows.RawValues()
		if b.nrow > 0 {
			size := rowBytes(values)
			if b.nrow >= blockRows || len(b.data) >= blockBytes || !fitsIn(len(b.data), size) ||
				!grow && (len(b.data)+size > cap(b.data) || len(b.ends)+ncol > cap(b.ends)) {
				b.Trim()
				list = append(list, b)
				b = NewBlock(ncol, b.nrow, max(len(b.data), size))
				grow = false
			}
		}
		b.AppendRow(values)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		cols.noteFirstBlock(b)
	} else {
		b.Trim() // a small result's one block is sized from the last: not worth a copy
	}
	list = append(list, b)
	tag := rows.CommandTag()
	parts.src.list = list
	rv := parts.init(cols)
	rv.rs.noRows = len(fields) == 0 && n == 0 && !tag.Select()
	parts.res = Result{RowView: rv, n: n, tag: tag}
	return &parts.res, nil
}

// rowBytes is the value bytes of a row.
func rowBytes(values [][]byte) int {
	n := 0
	for _, v := range values {
		n += len(v)
	}
	return n
}

// resultParts is a Result with everything it points to, made in one
// allocation: a small result pays for its set-up once, not once per part.
type resultParts struct {
	res   Result
	rv    RowView
	v     View[Row]
	rs    readState
	src   blocks
	first [1]*Block // the block list of a result that fits in one
}

// init makes the parts the first view of a result over cols and src.
func (p *resultParts) init(cols *columns) *RowView {
	p.rs = readState{cols: cols, src: &p.src}
	p.v = View[Row]{rs: &p.rs, proj: cols.allProjection()}
	p.v.fork = rowForkFor(cols, p.v.proj)
	p.rv = RowView{&p.v}
	return &p.rv
}

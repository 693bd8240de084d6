package split

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier runs a statement; pgx.Tx, *pgx.Conn and *pgxpool.Pool are ones.
// Plan runs its statements on it, so it should be the transaction whose
// snapshot the slices will read.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Options says how to split.
type Options struct {
	// Slices is how many slices to make at most (fewer when the table has
	// fewer blocks, or the key fewer distinct boundaries). At least 1.
	Slices int
	// SplitBy, when set, splits by ranges of this column of the table
	// instead of by physical block ranges.
	SplitBy string
	// Ordered (with SplitBy) adds ORDER BY the column to every slice: the
	// slices read one after the other are then the query's rows ordered by
	// that column, as the query with ORDER BY the column returns them.
	Ordered bool
}

// Slice is one part of a split query: run SQL with Args.
type Slice struct {
	SQL  string
	Args []any
	// Range describes the slice for messages: "blocks [0, 120)" or
	// "id < 5000".
	Range string
}

// scan is what EXPLAIN says the query reads.
type scan struct {
	schema, table, alias string
	kind                 string // pg_class.relkind
	blocks               int64  // the size in blocks, as Plan read it
	version              int32  // server_version_num
}

// explainNode is the part of EXPLAIN (FORMAT JSON, VERBOSE)'s plan Plan
// looks at.
type explainNode struct {
	Type     string        `json:"Node Type"`
	Relation string        `json:"Relation Name"`
	Schema   string        `json:"Schema"`
	Alias    string        `json:"Alias"`
	Parent   string        `json:"Parent Relationship"`
	Plans    []explainNode `json:"Plans"`
}

// scanNodes are the plan nodes that read one relation's rows, each once.
var scanNodes = map[string]bool{
	"Seq Scan": true, "Index Scan": true, "Index Only Scan": true,
	"Bitmap Heap Scan": true, "Tid Scan": true, "Tid Range Scan": true,
}

// explain asks the server how it runs the query and accepts only a scan
// of one relation (under a Gather, for a parallel scan), whose only
// children are the bitmap index scans of a bitmap heap scan. Anything else
// (an aggregate, a sort, a limit, a join, a subplan, a set-returning
// function, a constant-false filter's Result) is refused: the slices could
// then together differ from the query.
func explain(ctx context.Context, q Querier, sh *Shape, args []any) (scan, error) {
	var out []byte
	if err := one(ctx, q, "EXPLAIN the query", "EXPLAIN (FORMAT JSON, VERBOSE) "+sh.sql, args, &out); err != nil {
		return scan{}, err
	}
	var plans []struct {
		Plan explainNode `json:"Plan"`
	}
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		return scan{}, fmt.Errorf("split: EXPLAIN the query: unexpected output %.200q", out)
	}
	n := plans[0].Plan
	if n.Type == "Gather" && len(n.Plans) == 1 {
		n = n.Plans[0]
	}
	if !scanNodes[n.Type] {
		return scan{}, shapeError("the server runs it as %s, not as a scan of one table", describeNode(n))
	}
	for _, c := range n.Plans {
		if !bitmapOnly(c) {
			return scan{}, shapeError("its scan of %q has a %s (%s)", n.Relation, c.Parent, c.Type)
		}
	}
	return scan{schema: n.Schema, table: n.Relation, alias: n.Alias}, nil
}

// bitmapOnly reports whether n is a bitmap index scan or a BitmapAnd/Or of
// them.
func bitmapOnly(n explainNode) bool {
	switch n.Type {
	case "Bitmap Index Scan":
		return true
	case "BitmapAnd", "BitmapOr":
		for _, c := range n.Plans {
			if !bitmapOnly(c) {
				return false
			}
		}
		return true
	}
	return false
}

func describeNode(n explainNode) string {
	if n.Relation != "" {
		return fmt.Sprintf("plan node %q on %q", n.Type, n.Relation)
	}
	return fmt.Sprintf("plan node %q", n.Type)
}

// Plan checks that sh can be split (see Shape and explain) and returns its
// slices: together they return exactly the rows of sh, at the snapshot
// they read, each row once. args are the query's parameters ($1, $2, ...);
// each slice's Args start with them.
//
// Without SplitBy the slices are ranges of the table's blocks (ctid >=
// '(a,0)' AND ctid < '(b,0)', a TID Range Scan from PostgreSQL 14 on), of
// equal block counts; the table must be a plain table or a materialized
// view. The first slice has no lower bound and the last none above, so rows
// in blocks added after the size was read are not lost.
//
// With SplitBy the slices are ranges of the column: boundaries at
// quantiles of its histogram in pg_stats (so slices hold about equal
// estimated rows), or, without statistics, evenly between min and max for
// a numeric column (a query of its own: an index makes it cheap, else it is
// a full scan). NULLs go to the last slice, where ORDER BY puts them.
//
// Cost: EXPLAIN of the query plus one or two catalog queries (and the
// min/max query above), all on q.
func Plan(ctx context.Context, q Querier, sh *Shape, args []any, opts Options) ([]Slice, error) {
	if opts.Slices < 1 {
		return nil, fmt.Errorf("split: Plan: Slices must be at least 1, got %d", opts.Slices)
	}
	sc, err := explain(ctx, q, sh, args)
	if err != nil {
		return nil, err
	}
	var same bool
	err = one(ctx, q, "look up the table", `select coalesce(c.oid = to_regclass($3), false), c.relkind::text,
			pg_relation_size(c.oid) / current_setting('block_size')::int8, current_setting('server_version_num')::int4
		from pg_class c join pg_namespace s on s.oid = c.relnamespace where s.nspname = $1 and c.relname = $2`,
		[]any{sc.schema, sc.table, sh.table}, &same, &sc.kind, &sc.blocks, &sc.version)
	if err != nil {
		return nil, err
	}
	if !same {
		return nil, shapeError("%s is not the table the server reads (%s.%s): a view, or a name that resolves elsewhere; name the table itself", sh.table, sc.schema, sc.table)
	}
	if opts.SplitBy != "" {
		return byKey(ctx, q, sh, sc, args, opts)
	}
	return byBlocks(sh, sc, args, opts.Slices)
}

// one reads a single row into dst, or fails with what it was for.
func one(ctx context.Context, q Querier, what, sql string, args []any, dst ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("split: %s: %w", what, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("split: %s: %w", what, err)
		}
		return fmt.Errorf("split: %s: %w", what, errNotFound)
	}
	if err := rows.Scan(dst...); err != nil {
		return fmt.Errorf("split: %s: %w", what, err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("split: %s: %w", what, err)
	}
	return nil
}

var errNotFound = errors.New("not found")

// byBlocks splits the table's blocks into n ranges.
func byBlocks(sh *Shape, sc scan, args []any, n int) ([]Slice, error) {
	kind, blocks := sc.kind, sc.blocks
	if kind != "r" && kind != "m" {
		return nil, shapeError("%q is not a plain table or materialized view (relkind %s): split it by a column instead", sc.table, kind)
	}
	if sc.version < 140000 && n > 1 && blocks > 1 {
		// before the TID Range Scan every block-range slice would read the
		// whole table
		return nil, fmt.Errorf("split: block ranges need PostgreSQL 14 or later (this server is %d); split by a column instead", sc.version)
	}
	n = int(min(int64(n), max(blocks, 1)))
	if n == 1 {
		return []Slice{{SQL: sh.with("", ""), Args: args, Range: "all blocks"}}, nil
	}
	out := make([]Slice, n)
	for i := range n {
		lo, hi := blocks*int64(i)/int64(n), blocks*int64(i+1)/int64(n)
		var pred, rng string
		switch i {
		case 0:
			pred, rng = fmt.Sprintf("ctid < '(%d,0)'::tid", hi), fmt.Sprintf("blocks [0, %d)", hi)
		case n - 1:
			pred, rng = fmt.Sprintf("ctid >= '(%d,0)'::tid", lo), fmt.Sprintf("blocks [%d, end)", lo)
		default:
			pred, rng = fmt.Sprintf("ctid >= '(%d,0)'::tid AND ctid < '(%d,0)'::tid", lo, hi), fmt.Sprintf("blocks [%d, %d)", lo, hi)
		}
		out[i] = Slice{SQL: sh.with(pred, ""), Args: args, Range: rng}
	}
	return out, nil
}

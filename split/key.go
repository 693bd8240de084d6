package split

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// column is the split column as the catalog has it.
type column struct {
	typ      string // format_type: the SQL spelling of its type, from the server
	category string // pg_type.typcategory: N numeric
	integer  bool
}

// byKey splits by ranges of opts.SplitBy.
func byKey(ctx context.Context, q Querier, sh *Shape, sc scan, args []any, opts Options) ([]Slice, error) {
	var col column
	err := one(ctx, q, "look up the --split-by column", `select format_type(a.atttypid, a.atttypmod), t.typcategory::text,
			a.atttypid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
		from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace s on s.oid = c.relnamespace
		join pg_type t on t.oid = a.atttypid
		where s.nspname = $1 and c.relname = $2 and a.attname = $3 and a.attnum > 0 and not a.attisdropped`,
		[]any{sc.schema, sc.table, opts.SplitBy}, &col.typ, &col.category, &col.integer)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("split: %q has no column %q to split by (the name is matched exactly, as a quoted identifier)", sc.table, opts.SplitBy)
	}
	if err != nil {
		return nil, err
	}
	qual := pgx.Identifier{sc.alias, opts.SplitBy}.Sanitize()
	bounds, err := boundaries(ctx, q, sc, qual, col, opts)
	if err != nil {
		return nil, err
	}
	order := ""
	if opts.Ordered {
		// qualified, so an output column of the same name cannot take its place
		order = qual
	}
	if len(bounds) == 0 {
		return []Slice{{SQL: sh.with("", order), Args: args, Range: "all rows"}}, nil
	}
	name := pgx.Identifier{opts.SplitBy}.Sanitize()
	cast := func(k int) string { return fmt.Sprintf("CAST($%d AS %s)", k, col.typ) }
	out := make([]Slice, len(bounds)+1)
	for i := range out {
		k := len(args) + 1
		var pred, rng string
		sargs := append([]any(nil), args...)
		switch i {
		case 0:
			pred, rng = qual+" < "+cast(k), name+" < "+bounds[0]
			sargs = append(sargs, bounds[0])
		case len(bounds):
			pred, rng = "("+qual+" >= "+cast(k)+" OR "+qual+" IS NULL)", name+" >= "+bounds[i-1]+" or null"
			sargs = append(sargs, bounds[i-1])
		default:
			pred, rng = qual+" >= "+cast(k)+" AND "+qual+" < "+cast(k+1), name+" in ["+bounds[i-1]+", "+bounds[i]+")"
			sargs = append(sargs, bounds[i-1], bounds[i])
		}
		out[i] = Slice{SQL: sh.with(pred, order), Args: sargs, Range: rng}
	}
	return out, nil
}

// boundaries returns up to Slices-1 increasing boundaries of the column, as
// the text of values of its type: from the histogram of pg_stats when
// there is one, else between min and max for a numeric column.
func boundaries(ctx context.Context, q Querier, sc scan, qual string, col column, opts Options) ([]string, error) {
	n := opts.Slices
	if n < 2 {
		return nil, nil
	}
	// histogram_bounds is anyarray: through text to the column's type, so
	// the values sort as the column does and come back as its text.
	var hist []string
	err := one(ctx, q, "read the --split-by column's statistics", `select coalesce((select array_agg(v::text order by v)
			from unnest((select histogram_bounds::text from pg_stats
				where schemaname = $1 and tablename = $2 and attname = $3 limit 1)::`+col.typ+`[]) v), '{}')`,
		[]any{sc.schema, sc.table, opts.SplitBy}, &hist)
	if err != nil {
		return nil, err
	}
	if len(hist) >= 2 {
		var out []string
		for i := 1; i < n; i++ {
			b := hist[i*(len(hist)-1)/n]
			if len(out) == 0 || out[len(out)-1] != b {
				out = append(out, b)
			}
		}
		return out, nil
	}
	if col.category != "N" {
		return nil, fmt.Errorf("split: --split-by %s: %q has no statistics for it yet (run ANALYZE %s), and without them only a numeric column can be split (between its min and max)",
			opts.SplitBy, sc.table, pgx.Identifier{sc.schema, sc.table}.Sanitize())
	}
	table := pgx.Identifier{sc.schema, sc.table}.Sanitize() + " " + pgx.Identifier{sc.alias}.Sanitize()
	var lo, hi *float64
	if err := one(ctx, q, "read the --split-by column's min and max", "select min("+qual+")::float8, max("+qual+")::float8 from "+table, nil, &lo, &hi); err != nil {
		return nil, err
	}
	if lo == nil || *lo >= *hi {
		return nil, nil // no rows, or one value: one slice
	}
	var out []string
	for i := 1; i < n; i++ {
		b := *lo + (*hi-*lo)*float64(i)/float64(n)
		s := strconv.FormatFloat(b, 'g', -1, 64)
		if col.integer {
			s = strconv.FormatInt(int64(b), 10)
		}
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out, nil
}

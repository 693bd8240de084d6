// Package split cuts one query into slices that several connections can
// read at once, each slice a range of the same table, so that together they
// return exactly the query's rows, each once.
//
// Only one query shape is split, and it is checked twice: Parse accepts
// from the text only SELECT select-list FROM table [[AS] alias] [WHERE
// condition] (or TABLE table), nothing after the condition; Plan then asks
// the server (EXPLAIN) and accepts only a plan that is a scan of that one
// table, so an aggregate, a window function, DISTINCT, a set-returning
// function, a subplan, a sort or a limit hidden in the select list or the
// condition is refused too (with an error wrapping ErrShape), instead of
// being computed per slice, which would change the result.
//
// Slices are block ranges of the table (ctid ranges, which PostgreSQL 14
// and later run as a TID Range Scan) or, with Options.SplitBy, ranges of a
// column whose boundaries come from the column's histogram in pg_stats or
// from its min and max. The slices only return the same rows as the query
// when they all read one snapshot: session.Maker.StreamParallel runs them
// in transactions that share an exported one.
package split

// Package stream reads a query's rows as they arrive, in constant memory.
//
// Open starts a statement and returns a Result whose rows a producer
// goroutine reads from the connection in batches (1, 5, 25, 125, 625, then
// Options.MaxBatch rows, each also capped by Options.MaxBatchBytes) and hands
// over through a bounded channel of Options.Buffer batches; OpenFetch reads a
// server-side cursor (DECLARE ... CURSOR) with one FETCH per batch on the
// caller's goroutine instead. Either way the Result has the whole reading
// vocabulary of package buffered (Rows, FetchOne, FetchMany, Partitions, All,
// First, One, Scalar, the Scalars, Mappings and Columns views, Unique,
// buffered.ScalarsOf and buffered.Structs), read from the batches instead of
// memory.
//
// Every way out (reading to the end, Close, a break or panic in a loop, a
// one-answer method, the context, a decode or server error) ends the
// producer, closes the pgx.Rows and releases the connection; an early end
// sends a cancel request instead of draining the rest of the rows.
//
// Most callers get a Result from session.Session.Stream, which picks the
// connection and, inside a transaction, the savepoint or the cursor. Ordered
// parallel processing of a Result's rows is package pipe.
//
// Errors this package makes read "stream: Op: what went wrong".
package stream

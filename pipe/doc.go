// Package pipe runs ordered stages over the rows of a result: From a view
// (of a stream.Result or of a buffered.Result), then Map, Filter and
// ParallelMap, read with Rows, Chunks or All.
//
// Several views become one pipe with FanIn (every input's rows, as they
// come) or Merge (a k-way merge of inputs sorted by the same order, such
// as one ORDER BY query run on several shards). Both keep memory bounded per
// input, stop every input when one fails or the reader stops, and start
// the usual stages.
//
// Rows move between stages in chunks (slices of up to 256 rows, the first
// of one row, growing as a stream's batches do), so a stage
// costs one call, one channel operation and one allocation per chunk, never
// per row. Map and Filter run on the goroutine that pulls them; ParallelMap
// maps with a bounded number of workers and keeps the input order. Memory is
// bounded whatever the row count, and a slow consumer slows the stages,
// which slow the source: for a stream that reaches the server through TCP.
//
// Every way out (the end, an error or a panic in a stage, an error from the
// source, a break, return or panic in the consumer's loop, Close, or the
// context) stops the stage goroutines, waits for them, and closes the
// source view, which for a stream stops the query and releases its
// connection.
//
// Errors read "pipe: Op: what went wrong"; a panic in a stage function comes
// back as a *PanicError, not re-raised.
//
// The package is separate from package stream because nothing in it depends
// on how rows arrive: it reads any buffered.View.
package pipe

// Package buffered holds query results in memory and reads them back with the
// vocabulary of SQLAlchemy 2.0's Result: All, First, One, OneOrNone, Scalar,
// ScalarOne, ScalarOneOrNone, FetchOne, FetchMany, Partitions, and views that
// present the same rows differently (Scalars, Mappings, column projection,
// Unique, typed scalars and structs).
//
// # How rows are held
//
// Rows are kept as the raw wire bytes the server sent, copied into blocks
// (one allocation per block, not per value). A row is decoded when it is read:
// generic reads (Row, Mapping) decode through pgx's type map, typed views
// (ScalarsOf, Structs) scan straight from the wire bytes into Go values with
// scan plans built once per view, so no generic any value is made on that
// path.
//
// # Words
//
// A RowView is the reference's Result: it reads a result's rows as Row
// values and makes the other views (a View of another type, a
// MappingView). Every view of one result shares one read position. Rows
// arrive from a Source in blocks. "Cursor" is kept for what SQL calls one,
// a server-side DECLARE cursor (session.StreamOptions).
//
// # Two ways a result ends
//
// A result ends either exhausted or closed, as in the reference:
//
//   - exhausted: All, iterating to the end, FetchOne finding no row. Later
//     fetches return nothing, without error.
//   - closed: Close, and the methods that read one answer and close: First,
//     One, OneOrNone, Scalar, ScalarOne, ScalarOneOrNone. Later reads fail
//     with ErrClosed; a method with no error result returns nothing and Err
//     says why. Never a silent empty answer.
//
// Views (Scalars, Mappings, Columns, ScalarsOf, Structs, Raw) are filters
// over the same read position, not copies: reading from one advances all of them.
// Unique and UniqueBy change a view in place, as in the reference, and every
// view derived from a unique one de-duplicates the same way. Freeze takes a
// snapshot of what a view yields that can be read again and again.
// FetchRawBatch hands a reader the rest of the block at hand as raw wire
// values, so an encoder pays a view's per-read work once per block.
//
// # Column names
//
// A name picks a column only when exactly one column has it: with
// duplicate names (select 1 as x, 2 as x), Columns, Scalars, Mappings and
// Row.Lookup fail with ErrAmbiguousColumn naming the positions, Row.Get
// reports false and Row.Mapping leaves the name out. Positions always work.
//
// # Errors
//
// Errors read "buffered: Op: what went wrong" and wrap the package's
// sentinels for errors.Is; ErrNoRows is also sql.ErrNoRows and
// pgx.ErrNoRows. Server errors pass through unwrapped.
//
// The same RowView also reads streaming results: package stream feeds it
// from a bounded channel instead of memory through the Source interface, so
// every view exists once.
//
// Results and views are not safe for concurrent use.
package buffered

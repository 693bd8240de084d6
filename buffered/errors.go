package buffered

import "errors"

var (
	// ErrNoRows is returned by First, One, Scalar and ScalarOne (and their
	// view forms) when the result has no row.
	ErrNoRows = errors.New("no row was found when one was required")
	// ErrMultipleRows is returned by One, OneOrNone, ScalarOne and
	// ScalarOneOrNone when the result has more than one row.
	ErrMultipleRows = errors.New("multiple rows were found when one or none was required")
	// ErrClosed is returned by reads from a cursor that was closed by Close or
	// by a method that reads one answer and closes (First, One, Scalar, ...).
	ErrClosed = errors.New("this result is closed")
	// ErrNoColumn is returned when a column named or numbered by the caller
	// does not exist; the message lists the columns that do.
	ErrNoColumn = errors.New("no such column")
	// ErrNotReturningRows is returned by reads from the result of a statement
	// that returns no rows (INSERT without RETURNING, UPDATE, DDL, ...). Use
	// CommandTag or RowsAffected instead.
	ErrNotReturningRows = errors.New("this result does not return rows; use CommandTag or RowsAffected")
)

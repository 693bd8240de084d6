package buffered

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var (
	// ErrNoRows is returned by First, One, Scalar and ScalarOne (and their
	// view forms) when the result has no row. It is also pgx.ErrNoRows and
	// sql.ErrNoRows for errors.Is, so code written for either works
	// unchanged.
	ErrNoRows error = &proxyError{msg: "no row was found when one was required", also: pgx.ErrNoRows}
	// ErrMultipleRows is returned by One, OneOrNone, ScalarOne and
	// ScalarOneOrNone when the result has more than one row.
	ErrMultipleRows = errors.New("multiple rows were found when one or none was required")
	// ErrClosed is returned by reads from a result that was closed by Close or
	// by a method that reads one answer and closes (First, One, Scalar, ...).
	ErrClosed = errors.New("this result is closed")
	// ErrNoColumn is returned when a column named or numbered by the caller
	// does not exist; the message lists the columns that do.
	ErrNoColumn = errors.New("no such column")
	// ErrAmbiguousColumn is returned when a name picks a column and more
	// than one column has that name (select 1 as x, 2 as x): the message
	// names their positions. Pick one by position, or alias them in the SQL.
	ErrAmbiguousColumn = errors.New("ambiguous column name")
	// ErrNotReturningRows is returned by reads from the result of a statement
	// that returns no rows (INSERT without RETURNING, UPDATE, DDL, ...). Use
	// CommandTag or RowsAffected instead.
	ErrNotReturningRows = errors.New("this result does not return rows; use CommandTag or RowsAffected")
)

// opError wraps err as the error of method op: every error this package
// makes reads "buffered: Op: what went wrong", as package stream's read
// "stream: Op: ...".
func opError(op string, err error) error {
	return fmt.Errorf("buffered: %s: %w", op, err)
}

// wrapOp is opError without the package prefix, for an error kept in a view
// and wrapped again by the read that returns it; nil stays nil.
func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

// opErrorf is opError for an error made here.
func opErrorf(op, format string, args ...any) error {
	return fmt.Errorf("buffered: %s: %s", op, fmt.Sprintf(format, args...))
}

// proxyError is a sentinel that errors.Is also finds equal to another, as
// pgx makes its ErrNoRows also database/sql's: pgx.ErrNoRows unwraps to
// sql.ErrNoRows, so ErrNoRows is both.
type proxyError struct {
	msg  string
	also error
}

func (e *proxyError) Error() string { return e.msg }
func (e *proxyError) Unwrap() error { return e.also }

package session

import (
	"errors"
	"fmt"
)

// Unit-of-work errors. Each is wrapped with the operation and the object or
// type it concerns; test them with errors.Is.
var (
	// ErrNotMapped: the value is not a non-nil pointer to a struct that maps
	// to a table with a primary key (the message says which part is missing).
	ErrNotMapped = errors.New("not a mapped object: want a non-nil pointer to a struct with a table and a primary key")
	// ErrOtherSession: the object is held by another session; Expunge it
	// there (or Close that session) first, or Merge a copy into this one.
	ErrOtherSession = errors.New("the object is held by another session: Expunge it there first, or Merge it into this one")
	// ErrIdentityConflict: the session already holds another object with the
	// same type and primary key. Within a session one row is one object:
	// change the object the session holds (Get it), or Merge this one.
	ErrIdentityConflict = errors.New("another object with the same identity (type and primary key) is already in the session: change that one, or use Merge")
	// ErrNotInSession: the object is not held by this session (never added
	// or loaded, expunged, or the session was closed).
	ErrNotInSession = errors.New("the object is not in this session: Add it, load it through the session, or Merge it")
	// ErrStaleData: an UPDATE or DELETE of a flush matched no row: the row
	// was deleted, or its version column changed, since the object was
	// loaded. The flush wrote nothing; Refresh the object and try again, or
	// roll back.
	ErrStaleData = errors.New("stale data: the row changed or disappeared since it was loaded")
	// ErrPendingRollback: a flush failed inside a transaction and the
	// transaction could not be restored to the state before that flush (the
	// connection was lost, or the savepoint could not be rolled back). Every
	// call but Rollback and Close fails with it (wrapping the cause) until
	// the transaction is rolled back.
	ErrPendingRollback = errors.New("this session's transaction failed during a flush and must be rolled back before the session can be used again: call Rollback (or Close)")
)

// StaleDataError is the error of a flush whose UPDATE or DELETE matched no
// row. errors.Is(err, ErrStaleData) holds.
type StaleDataError struct {
	Op     string // "UPDATE" or "DELETE"
	Object any    // the object whose row did not match
	Key    Identity
}

func (e *StaleDataError) Error() string {
	return fmt.Sprintf("%s of %s matched no row: %v (refresh the object, or roll back)", e.Op, e.Key, ErrStaleData)
}

func (e *StaleDataError) Unwrap() error { return ErrStaleData }

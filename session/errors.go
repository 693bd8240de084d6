package session

import (
	"errors"
	"fmt"
)

// ErrBusy is returned when a session is used while another call on it is
// still running (from another goroutine, or while a stream holds its
// connection). A session is one unit of work: give each goroutine its own.
var ErrBusy = errors.New("session is busy: another call on it is still running (a session is not for concurrent use; make one per goroutine with Maker.New)")

// ErrStreamOpen is returned when a session is used while a stream still
// holds its transaction's connection (a stream opened inside a
// transaction, not yet read to the end or closed). errors.Is(err, ErrBusy)
// holds too.
var ErrStreamOpen = fmt.Errorf("a stream is still open on this session's transaction: read it to the end or Close it first (or open it with StreamOptions{ServerCursor: true}): %w", ErrBusy)

// ErrInTransaction is returned by Begin when the session already has a
// transaction (use BeginNested for a savepoint).
var ErrInTransaction = errors.New("a transaction is already begun on this session; use BeginNested for a savepoint")

package session

import "errors"

// ErrBusy is returned when a session is used while another call on it is
// still running (from another goroutine, or while a stream holds its
// connection). A session is one unit of work: give each goroutine its own.
var ErrBusy = errors.New("session is busy: another call on it is still running (a session is not for concurrent use; make one per goroutine with Maker.New)")

package session

import (
	"context"
	"reflect"
	"unsafe"
)

// undoEntry is what one committed flush inside a transaction changed about
// one object, to undo on rollback.
type undoEntry struct {
	t      *tracked
	was    status         // pending: inserted; persistent: updated; deleting: deleted
	snap   snapshot       // updated or deleted: the snapshot before the flush
	fields unsafe.Pointer // the struct before the flush wrote into it (nil: untouched)
	zeros  []int          // or: the fields the flush filled in that were zero before
}

// savepointMark is where a savepoint began in the unit of work.
type savepointMark struct {
	undo int    // len(undo) at the savepoint
	seq  uint64 // Add order at the savepoint
}

// beganNested records a savepoint.
func (u *unitOfWork) beganNested() {
	u.marks = append(u.marks, savepointMark{undo: len(u.undo), seq: u.seq})
}

// releasedNested forgets the innermost depth-1 .. savepoints from depth on:
// their changes now belong to the enclosing transaction.
func (u *unitOfWork) releasedNested(depth int) {
	if depth-1 < len(u.marks) {
		u.marks = u.marks[:depth-1]
	}
}

// rolledBackNested undoes what the flushes since the savepoint at depth
// wrote, and expunges objects added since it began.
func (u *unitOfWork) rolledBackNested(depth int) {
	if depth-1 >= len(u.marks) {
		return
	}
	mark := u.marks[depth-1]
	u.marks = u.marks[:depth-1]
	u.rewind(mark)
}

// rewind undoes the undo log back to mark, newest first, and expunges the
// objects added since mark that are still pending.
func (u *unitOfWork) rewind(mark savepointMark) {
	for i := len(u.undo) - 1; i >= mark.undo; i-- {
		e := u.undo[i]
		t := e.t
		switch e.was {
		case pending: // inserted: out of the session, fields as before the insert
			u.drop(t)
			t.st, t.snap = pending, snapshot{}
			if e.fields != nil {
				reflect.NewAt(t.m().Go, t.ptr).Elem().Set(reflect.NewAt(t.m().Go, e.fields).Elem())
			}
			zeroFields(t, e.zeros)
		case persistent: // updated: back to the row as it was
			old := t.identity() // the key the flush filed it under
			t.snap = e.snap
			t.plan.restore(&t.snap, t.ptr)
			u.rekey(t, old)
			t.set(fExpired, true)
		case deleting: // deleted: persistent again
			t.st, t.snap = persistent, e.snap
			t.plan.restore(&t.snap, t.ptr)
			id, _ := keyOf(t.m(), t.ptr)
			u.index(id, t)
			u.hold(t)
			t.set(fExpired, true)
		}
	}
	u.undo = u.undo[:mark.undo]
	for t := range u.holds.all {
		if t.st == pending && t.seq > mark.seq {
			u.drop(t)
		}
	}
}

// committed is called after the outermost transaction committed.
func (u *unitOfWork) committed(expire bool) {
	u.undo, u.marks = nil, nil
	if expire {
		u.expireAll()
	}
}

// rolledBack is called after the outermost transaction rolled back:
// objects the transaction's flushes inserted, and every pending object,
// leave the session; objects it updated or deleted are back as the
// database still has them; every other persistent object's unflushed
// changes are undone; and everything is expired, so the next load through
// the session reads the database again.
func (u *unitOfWork) rolledBack() {
	u.rewind(savepointMark{})
	u.marks, u.failed = nil, nil
	for t := range u.holds.all {
		switch t.st {
		case pending:
			u.drop(t)
		case deleting:
			t.st = persistent
			fallthrough
		default:
			t.plan.restore(&t.snap, t.ptr)
		}
	}
	u.expireAll()
}

func (u *unitOfWork) expireAll() {
	for t := range u.holds.all {
		if t.st != pending {
			t.set(fExpired, true)
			delete(u.expiredCols, t)
		}
	}
}

// flushBeforeCommit flushes ahead of a commit (the session is entered).
func (s *Session) flushBeforeCommit(ctx context.Context, op string) error {
	if s.work == nil {
		return nil
	}
	return s.flush(ctx, op, nil)
}

// afterEnd updates the unit of work once the outermost transaction ended.
func (s *Session) afterEnd(committed bool) {
	if s.work == nil {
		return
	}
	if committed {
		s.work.committed(!s.cfg.keepOnCommit)
	} else {
		s.work.rolledBack()
	}
}

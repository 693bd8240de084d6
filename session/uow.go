package session

import (
	"fmt"
	"iter"
	"reflect"
	"unsafe"
	"weak"

	"github.com/streamcat/streamcat/internal/mapping"
)

// status is where an object is in its session's unit of work.
type status uint8

const (
	pending    status = iota + 1 // added, INSERTed at the next flush
	persistent                   // has a row; UPDATEd at a flush when changed
	deleting                     // persistent, DELETEd at the next flush
)

// tracked is the session's record of one object.
type tracked struct {
	ptr   unsafe.Pointer // the program's struct; holding it keeps the object alive
	plan  *trackPlan
	st    status
	flags trackFlags
	// held: in the session's holds (a record in the pending list may no
	// longer be). A byte of its own, not a flag: other goroutines read it
	// (under the unit of work's mu) while the session's changes the flags.
	held bool
	jnl  uint8    // what the running flush's journal holds for it (jNone, jZeroed, jSaved)
	jidx int32    // where in the journal's list
	snap snapshot // persistent and deleting objects: the row as last loaded or flushed
	seq  uint64   // order of Add, for pending objects
}

// trackFlags are a record's yes/no facts, in one byte so that the record
// stays 40 bytes (a million loaded objects have a million records).
type trackFlags uint8

const (
	fExpired trackFlags = 1 << iota // reload at the next load through the session
	fRanged                         // one of a Select's records, found through a heldRange
	fEarly                          // inserted: snapshot and key taken during the flush (journal.settleEarly)
	fQueued                         // added, waiting in heldSet.queue to be filed by address
	fSuspect                        // queued though the filter had seen its address (heldSet.addLocked)
)

func (t *tracked) has(f trackFlags) bool { return t.flags&f != 0 }

func (t *tracked) set(f trackFlags, on bool) {
	if on {
		t.flags |= f
	} else {
		t.flags &^= f
	}
}

func (t *tracked) m() *mapping.Type { return t.plan.m }

// object is the program's *T, as the API hands it back (no allocation: a
// pointer fits in an interface as it is).
func (t *tracked) object() any { return reflect.NewAt(t.m().Go, t.ptr).Interface() }

// identity is t's identity-map key (persistent and deleting objects): the
// key fields of its snapshot, which hold the key as last loaded or flushed.
// The record keeps no copy of its own: that was 16 bytes, and a boxed
// integer, per object held.
func (t *tracked) identity() identity {
	id, _ := keyOf(t.m(), t.snap.shallow)
	return id
}

// unitOfWork is a session's identity map and change tracking. It lives with
// the session and, like the session, is used from one goroutine at a time.
type unitOfWork struct {
	s    *Session
	self weak.Pointer[unitOfWork]
	// listed: u is in units (it holds objects); written under units.mu by
	// u's own goroutine only
	listed bool
	// holds is every object the session holds. The session's goroutine
	// reads it freely and writes it under its mu; other goroutines
	// (another session's Add, ObjectSession) read it under its mu.
	holds heldSet
	// byKey indexes persistent and deleting objects by type, then key: a
	// 16-byte key per object rather than a type-and-key pair
	byKey map[reflect.Type]*keyIndex
	// added holds the records Add handed out, in Add order, chunk by
	// chunk (see newTracked): the pending objects are those of them still
	// pending and held. The last chunk is used up to its length less free's.
	added [][]tracked
	free  []tracked // records not handed out yet
	seq   uint64
	// expiredCols limits an object's expiry to these fields (absent: all)
	expiredCols map[*tracked][]int

	// undo is what the open transaction's flushes changed, so that Rollback
	// (or a savepoint's) can put the objects back; marks[i] is where the
	// savepoint at depth i+1 began.
	undo  []undoEntry
	marks []savepointMark

	failed error // a flush failure that left the transaction unusable
	// lastAdd is the type of the last object Add accepted (a *T) and its
	// tracking plan, which holds its mapping (see inspectAdd)
	lastAdd struct {
		typ  reflect.Type
		plan *trackPlan
		// keys is the index of the type, nil if it has none; known says
		// keys was looked up since the type or byKey's entries changed
		keys  *keyIndex
		known bool
	}
	noAutoflush int
}

// uow returns the session's unit of work, making it on first use.
func (s *Session) uow() *unitOfWork {
	if s.work == nil {
		u := &unitOfWork{s: s, byKey: map[reflect.Type]*keyIndex{}}
		u.self = weak.Make(u)
		register(u)
		s.work = u
	}
	return s.work
}

// trackedChunk is how many records Add takes at once from the allocator:
// one allocation per chunk instead of one per object.
const trackedChunk = 256

// newTracked hands out a zeroed record for Add: c[i], where c is the
// current chunk.
func (u *unitOfWork) newTracked() (c []tracked, i int) {
	if len(u.free) == 0 {
		u.free = make([]tracked, trackedChunk)
		u.added = append(u.added, u.free)
	}
	c = u.added[len(u.added)-1]
	i = len(c) - len(u.free)
	u.free = u.free[1:]
	return c, i
}

// handedOut is chunk i of added, as far as Add has used it.
func (u *unitOfWork) handedOut(i int) []tracked {
	c := u.added[i]
	if i == len(u.added)-1 {
		c = c[:len(c)-len(u.free)]
	}
	return c
}

// isPending reports whether a record of added is a pending object the
// session still holds (not flushed, expunged, or an Add's repeat).
func (t *tracked) isPending() bool { return t.st == pending && t.held }

// appendPending appends the pending objects to ts, in Add order.
func (u *unitOfWork) appendPending(ts []*tracked) []*tracked {
	for i := range u.added {
		c := u.handedOut(i)
		for j := range c {
			if t := &c[j]; t.isPending() {
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// pendingCap is at least how many objects appendPending appends.
func (u *unitOfWork) pendingCap() int { return len(u.added) * trackedChunk }

// trimAdded forgets the chunks that no longer hold a pending object (all
// of them after a full flush), so that appendPending stays short; the
// records stay alive as long as something else refers to them. The last
// chunk stays: Add still hands out its records.
func (u *unitOfWork) trimAdded() {
	keep := u.added[:0]
	for i := range u.added {
		c := u.handedOut(i)
		live := i == len(u.added)-1
		for j := 0; j < len(c) && !live; j++ {
			live = c[j].isPending()
		}
		if live {
			keep = append(keep, u.added[i])
		}
	}
	clear(u.added[len(keep):])
	u.added = keep
}

// keyIndex is one type's identity map. Integer keys, the common case
// (identity and serial columns), live in a map keyed by int64, which hashes
// and compares without going through an interface; other keys (strings,
// UUIDs, composite keys) in a map keyed by the key as an any.
type keyIndex struct {
	ints  flatTable[int64]
	other map[any]*tracked
}

// intKey reports k as an int64 when it is a Go integer.
func intKey(k any) (int64, bool) {
	switch v := k.(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int:
		return int64(v), true
	case int16:
		return int64(v), true
	case int8:
		return int64(v), true
	}
	return 0, false
}

func (x *keyIndex) get(k any) *tracked {
	if n, ok := intKey(k); ok {
		return x.ints.get(n)
	}
	return x.other[k]
}

func (x *keyIndex) put(k any, t *tracked) {
	if n, ok := intKey(k); ok {
		x.ints.put(n, t)
		return
	}
	if x.other == nil {
		x.other = map[any]*tracked{}
	}
	x.other[k] = t
}

func (x *keyIndex) remove(k any, t *tracked) {
	if n, ok := intKey(k); ok {
		if x.ints.get(n) == t {
			x.ints.del(n)
		}
	} else if x.other[k] == t {
		delete(x.other, k)
	}
}

// all iterates over the index.
func (x *keyIndex) all(yield func(*tracked) bool) {
	for t := range x.ints.all {
		if !yield(t) {
			return
		}
	}
	for _, t := range x.other {
		if !yield(t) {
			return
		}
	}
}

// intKeyOf reads the key of the struct at base as an int64 when m's key is
// one column of a built-in integer type, the common case (identity and
// serial columns): loads and flushes then find and file objects without
// boxing the key. ok is false for every other key.
func intKeyOf(m *mapping.Type, base unsafe.Pointer) (n int64, ok bool) {
	if len(m.Keys) != 1 {
		return 0, false
	}
	f := &m.Fields[m.Keys[0]]
	p := fieldPtr(base, f)
	switch f.Type {
	case typeInt64:
		return *(*int64)(p), true
	case typeInt32:
		return int64(*(*int32)(p)), true
	case typeInt16:
		return int64(*(*int16)(p)), true
	}
	return 0, false
}

// lookupRow finds the object the session holds for the row of type m at
// base (lookup, without boxing an integer key).
func (u *unitOfWork) lookupRow(m *mapping.Type, base unsafe.Pointer) *tracked {
	if n, ok := intKeyOf(m, base); ok {
		if x := u.byKey[m.Go]; x != nil {
			return x.ints.get(n)
		}
		return nil
	}
	id, _ := keyOf(m, base)
	return u.lookup(id)
}

// indexRow files t under the key of the row at base (index, without
// boxing an integer key).
func (u *unitOfWork) indexRow(t *tracked, base unsafe.Pointer) {
	m := t.m()
	n, ok := intKeyOf(m, base)
	if !ok {
		id, _ := keyOf(m, base)
		u.index(id, t)
		return
	}
	u.keys(m.Go).ints.put(n, t)
}

// holdsKeyed reports whether any object of type typ is in the index.
func (u *unitOfWork) holdsKeyed(typ reflect.Type) bool { return u.byKey[typ].holdsAny() }

// keys is the index of type typ, made on first use.
func (u *unitOfWork) keys(typ reflect.Type) *keyIndex {
	x := u.byKey[typ]
	if x == nil {
		x = &keyIndex{}
		u.byKey[typ] = x
		u.lastAdd.known = false
	}
	return x
}

// lastAddKeyed is holdsKeyed for the type of the last object Add
// accepted, without a map lookup per Add.
func (u *unitOfWork) lastAddKeyed() bool {
	if !u.lastAdd.known {
		u.lastAdd.keys, u.lastAdd.known = u.byKey[u.lastAdd.plan.m.Go], true
	}
	return u.lastAdd.keys.holdsAny()
}

// holdsAny reports whether x (nil: none yet) indexes any object.
func (x *keyIndex) holdsAny() bool { return x != nil && x.ints.len()+len(x.other) > 0 }

// lookup finds the persistent or deleting object with identity id.
func (u *unitOfWork) lookup(id identity) *tracked {
	if x := u.byKey[id.t]; x != nil {
		return x.get(id.k)
	}
	return nil
}

// index files t under id.
func (u *unitOfWork) index(id identity, t *tracked) {
	u.keys(id.t).put(id.k, t)
}

// reserve makes room in the index of type typ for n more integer-keyed
// objects, so that a big load or flush does not grow the map step by step.
func (u *unitOfWork) reserve(typ reflect.Type, n int) {
	u.keys(typ).ints.reserve(n)
}

// unindex removes t from the index, if it is filed there (under the key
// of its snapshot).
func (u *unitOfWork) unindex(t *tracked) { u.unindexFrom(t, t.identity()) }

// unindexFrom removes t from the index under id.
func (u *unitOfWork) unindexFrom(t *tracked, id identity) {
	if x := u.byKey[t.m().Go]; x != nil {
		x.remove(id.k, t)
	}
}

// rekey files t, whose snapshot was just replaced, under its snapshot's
// key if that is not old, the key it was filed under.
func (u *unitOfWork) rekey(t *tracked, old identity) {
	if id := t.identity(); id != old {
		u.unindexFrom(t, old)
		u.index(id, t)
	}
}

// hold records t as held by this session. Only the first object takes
// the process-wide lock, to list u among the sessions that hold objects.
func (u *unitOfWork) hold(t *tracked) {
	if !u.listed {
		units.mu.Lock()
		u.listLocked()
		units.mu.Unlock()
	}
	u.file(t)
}

// holdRange holds the new objects of one Select: the objects side by side
// from base, size bytes each, whose records are slots (those marked held).
func (u *unitOfWork) holdRange(base unsafe.Pointer, size uintptr, slots []tracked) {
	n := 0
	for i := range slots {
		if slots[i].held {
			n++
		}
	}
	if n == 0 {
		return // every row found an object the session already held
	}
	if !u.listed {
		units.mu.Lock()
		u.listLocked()
		units.mu.Unlock()
	}
	u.holds.mu.Lock()
	u.holds.addRange(base, size, slots, n)
	u.holds.mu.Unlock()
}

// file puts t in holds, where other sessions may look (under mu).
func (u *unitOfWork) file(t *tracked) {
	u.holds.mu.Lock()
	u.holds.put(t)
	u.holds.mu.Unlock()
}

// drop forgets t.
func (u *unitOfWork) drop(t *tracked) {
	u.holds.mu.Lock()
	u.holds.del(t)
	u.holds.mu.Unlock()
	if t.st != pending {
		u.unindex(t)
	}
	delete(u.expiredCols, t)
}

// dropAll forgets every object.
func (u *unitOfWork) dropAll() {
	u.unlist()
	u.holds.mu.Lock()
	u.holds.clear()
	u.holds.mu.Unlock()
	clear(u.byKey)
	u.lastAdd.known = false
	clear(u.expiredCols)
	u.added, u.free, u.undo, u.marks = nil, nil, nil, nil
}

// Add puts obj, a pointer to a mapped struct, into the session: a new
// object becomes pending and is INSERTed at the next flush (SQLAlchemy's
// add). Adding an object the session already holds does nothing, except
// that an object marked for deletion is kept after all. Cost: no SQL, a
// record and a map entry, and, under one process-wide lock, a lookup in
// each other session that holds objects at that moment (to refuse an
// object another session holds): with hundreds of such sessions alive at
// once, an Add costs microseconds.
//
// Errors (errors.Is): ErrNotMapped (nil, not a pointer to a struct, a type
// without a table or primary key), ErrOtherSession, ErrIdentityConflict (a
// key already set on obj names a row whose object the session already
// holds), ErrPendingRollback, ErrBusy.
func (s *Session) Add(obj any) error {
	if err := s.enter("Add"); err != nil {
		return err
	}
	defer s.leave()
	return s.add(obj)
}

// AddAll is Add for each object, stopping at the first error (the objects
// before it are added).
func (s *Session) AddAll(objs ...any) error {
	if err := s.enter("AddAll"); err != nil {
		return err
	}
	defer s.leave()
	for _, obj := range objs {
		if err := s.add(obj); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) add(obj any) error {
	if err := s.usable("Add"); err != nil {
		return err
	}
	u := s.uow()
	o, err := u.inspectAdd(obj)
	if err != nil {
		return err
	}
	// Whether the session already holds obj is mostly not looked up in
	// the table of held objects (heldSet.addLocked); a persistent object,
	// the usual one to be added again, is found by its key.
	if keyKnown(o.m, o.ptr) && u.lastAddKeyed() {
		if other := u.lookupRow(o.m, o.ptr); other != nil {
			if t := u.holds.get(o.ptr); t != nil { // obj itself (even with its key changed)
				if t.st == deleting {
					t.st = persistent
				}
				return nil
			}
			id, _ := keyOf(o.m, o.ptr)
			return fmt.Errorf("session: Add(%s): %w", id.export(), ErrIdentityConflict)
		}
	}
	plan := u.lastAdd.plan // inspectAdd left obj's there
	u.seq++
	c, i := u.newTracked()
	t := &c[i]
	*t = tracked{ptr: o.ptr, plan: plan, st: pending, seq: u.seq}
	// no other session may hold it, checked and taken in one step, so two
	// sessions adding one object at once cannot both have it
	units.mu.Lock()
	if other := ownerOfLocked(o.ptr, u); other != nil {
		units.mu.Unlock()
		*t = tracked{}
		return fmt.Errorf("session: Add(%T): %w", obj, ErrOtherSession)
	}
	u.listLocked()
	u.holds.addLocked(c, i)
	units.mu.Unlock()
	// the objects its ref fields point to come along (SQLAlchemy's
	// save-update cascade)
	for _, r := range o.m.Refs {
		target := reflect.NewAt(reflect.PointerTo(r.Target), unsafe.Add(o.ptr, r.Offset)).Elem()
		if !target.IsNil() && u.holds.get(target.UnsafePointer()) == nil {
			if err := s.add(target.Interface()); err != nil {
				return fmt.Errorf("session: Add(%T): its field %s: %w", obj, r.Name, err)
			}
		}
	}
	return nil
}

// inspectAdd is inspect for Add, with the last type it accepted kept (in
// lastAdd, with its tracking plan): a program adds many objects of one
// type in a row, and the lookups of the mapping and the plan (sync.Maps
// keyed by the type) were a tenth of an Add.
func (u *unitOfWork) inspectAdd(obj any) (object, error) {
	if obj != nil && reflect.TypeOf(obj) == u.lastAdd.typ {
		if p := reflect.ValueOf(obj).UnsafePointer(); p != nil {
			return object{ref: obj, ptr: p, m: u.lastAdd.plan.m}, nil
		}
	}
	o, err := inspect("Add", obj)
	if err == nil {
		u.lastAdd.typ, u.lastAdd.plan, u.lastAdd.known = reflect.TypeOf(obj), planTracking(o.m), false
	}
	return o, err
}

// Delete marks obj for deletion: its row is DELETEd at the next flush
// (SQLAlchemy's delete). An object that is still pending is simply taken out
// of the session (there is no row to delete). Cost: no SQL.
//
// Errors: ErrNotMapped, ErrNotInSession (the session never saw obj: load it
// through the session, or Merge it, first), ErrPendingRollback, ErrBusy.
func (s *Session) Delete(obj any) error {
	if err := s.enter("Delete"); err != nil {
		return err
	}
	defer s.leave()
	if err := s.usable("Delete"); err != nil {
		return err
	}
	t, err := s.held("Delete", obj)
	if err != nil {
		return err
	}
	if t.st == pending {
		s.work.drop(t)
		return nil
	}
	t.st = deleting
	return nil
}

// held returns the record of obj, which must be in the session.
func (s *Session) held(op string, obj any) (*tracked, error) {
	o, err := inspect(op, obj)
	if err != nil {
		return nil, err
	}
	if s.work != nil {
		if t := s.work.holds.get(o.ptr); t != nil {
			return t, nil
		}
	}
	id, _ := keyOf(o.m, o.ptr)
	return nil, fmt.Errorf("session: %s(%s): %w", op, id.export(), ErrNotInSession)
}

// Expunge takes obj out of the session without touching its row
// (SQLAlchemy's expunge): its pending insert, changes or deletion are
// forgotten, and it may join another session. Errors: ErrNotMapped,
// ErrNotInSession, ErrBusy.
func (s *Session) Expunge(obj any) error {
	if err := s.enter("Expunge"); err != nil {
		return err
	}
	defer s.leave()
	t, err := s.held("Expunge", obj)
	if err != nil {
		return err
	}
	s.work.drop(t)
	return nil
}

// ExpungeAll takes every object out of the session (SQLAlchemy's
// expunge_all); Close does it too. Objects keep their field values.
func (s *Session) ExpungeAll() error {
	if err := s.enter("ExpungeAll"); err != nil {
		return err
	}
	defer s.leave()
	if s.work != nil {
		s.work.dropAll()
	}
	return nil
}

// Contains reports whether the session holds obj (pending, persistent or
// marked for deletion).
func (s *Session) Contains(obj any) bool {
	o, err := inspect("Contains", obj)
	if err != nil || s.work == nil {
		return false
	}
	return s.work.holds.get(o.ptr) != nil
}

// New returns the pending objects, in the order they were added
// (SQLAlchemy's Session.new).
func (s *Session) New() []any {
	return s.collect(func(t *tracked) bool { return t.st == pending })
}

// Deleted returns the objects marked for deletion (Session.deleted).
func (s *Session) Deleted() []any {
	return s.collect(func(t *tracked) bool { return t.st == deleting })
}

// Dirty returns the persistent objects with a column value that differs
// from the row as last loaded or flushed (Session.dirty). Cost: it compares
// every field of every persistent object with its snapshot.
func (s *Session) Dirty() []any {
	return s.collect(func(t *tracked) bool { return t.st == persistent && len(t.plan.changes(&t.snap, t.ptr)) > 0 })
}

func (s *Session) collect(keep func(*tracked) bool) []any {
	if s.work == nil {
		return nil
	}
	var out []*tracked
	for t := range s.work.holds.all {
		if keep(t) {
			out = append(out, t)
		}
	}
	sortTracked(out)
	refs := make([]any, len(out))
	for i, t := range out {
		refs[i] = t.object()
	}
	return refs
}

// IsModified reports whether obj has changes the next flush would write: a
// pending object, one marked for deletion, or a persistent one whose
// columns differ from its snapshot. Optional column names limit the check
// to those columns. An object the session does not hold is not modified.
func (s *Session) IsModified(obj any, columns ...string) bool {
	o, err := inspect("IsModified", obj)
	if err != nil || s.work == nil {
		return false
	}
	t := s.work.holds.get(o.ptr)
	switch {
	case t == nil:
		return false
	case t.st != persistent:
		return true
	case len(columns) == 0:
		return len(t.plan.changes(&t.snap, t.ptr)) > 0
	}
	for _, c := range columns {
		if i := o.m.Field(c); i >= 0 && t.plan.changed(&t.snap, t.ptr, i) {
			return true
		}
	}
	return false
}

// Objects iterates over every object the session holds (its identity map
// plus the pending objects), in no particular order. Do not call other
// methods of the session while iterating.
func (s *Session) Objects() iter.Seq[any] {
	return func(yield func(any) bool) {
		if s.work == nil {
			return
		}
		for t := range s.work.holds.all {
			if !yield(t.object()) {
				return
			}
		}
	}
}

// usable fails when a failed flush left the transaction needing a rollback.
func (s *Session) usable(op string) error {
	if s.work != nil && s.work.failed != nil {
		return fmt.Errorf("session: %s: %w (the flush failed with: %w)", op, ErrPendingRollback, s.work.failed)
	}
	return nil
}

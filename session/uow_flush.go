package session

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/internal/mapping"
)

// Flush writes the session's changes to the database now (SQLAlchemy's
// flush): INSERTs for pending objects, UPDATEs of the changed columns of
// persistent ones, DELETEs for objects marked for deletion. With objs, only
// those objects are flushed.
//
// Order: parents before children for inserts and updates, children before
// parents for deletes, from the foreign keys in pg_catalog (read once per
// table and cached by the Maker) and from ref fields; rows of a
// self-referential table follow their references. A ref field's target key
// is copied into the referencing columns once the target has it.
//
// Batching: pending objects of one table go in multi-row INSERT ...
// RETURNING statements (up to 1000 rows each) that read back the keys and
// defaults the server made, assigned back in row order. From two full
// chunks on, the chunks go as a pipeline with two in flight, so the server
// inserts one while the client encodes the next (the statement is
// prepared once per connection, except with pgx's exec modes that promise
// no prepared statements, where the chunks go one by one). When nothing
// needs to come back and there are at least 64 rows, they go through COPY
// instead, and each object's snapshot and identity-map entry are made
// while pgx streams its row. UPDATEs of all changed objects go in one pgx
// batch (one round trip); DELETEs of one table in one statement.
//
// A flush is atomic: outside a transaction it runs in one of its own, which
// it commits; inside one it runs under a SAVEPOINT (one subtransaction per
// flush that writes). When any statement fails (a constraint, a stale
// version, a lost connection), the database keeps none of the flush's
// changes, and the objects and the session's bookkeeping are as before the
// flush: fix the cause and flush again, or roll back. If the savepoint
// itself cannot be rolled back (the connection is gone), the session fails
// every call with ErrPendingRollback until Rollback or Close.
//
// Cost: one round trip to open and one to end the flush's transaction or
// savepoint, one per 1000 inserted rows of a table (overlapped with each
// other when pipelined; one more, once per connection, to prepare the
// pipelined statement) or one COPY, one for
// all updates, one per table with deletions, and one catalog query per table
// the Maker has not seen yet. Finding the changed objects compares every
// field of every persistent object the session holds with its snapshot.
func (s *Session) Flush(ctx context.Context, objs ...any) error {
	if err := s.enter("Flush"); err != nil {
		return err
	}
	defer s.leave()
	return s.flush(ctx, "Flush", objs)
}

// flushWork is what one flush writes.
type flushWork struct {
	inserts []*tracked // pending, in Add order
	updates []*tracked // persistent objects that may have changed
	deletes []*tracked
}

func (w *flushWork) types() []*mapping.Type {
	seen := map[*mapping.Type]bool{}
	var out []*mapping.Type
	var last *mapping.Type
	for _, list := range [][]*tracked{w.inserts, w.updates, w.deletes} {
		for _, t := range list {
			m := t.m()
			if m == last { // objects of one type come in runs
				continue
			}
			last = m
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// collectWork finds what a flush of only (or of everything) has to write;
// nil when there is nothing.
func (u *unitOfWork) collectWork(op string, only []any) (*flushWork, error) {
	var set map[*tracked]bool
	if len(only) > 0 {
		set = make(map[*tracked]bool, len(only))
		for _, obj := range only {
			t, err := u.s.held(op, obj)
			if err != nil {
				return nil, err
			}
			set[t] = true
		}
	}
	w := &flushWork{}
	if only == nil {
		w.inserts = make([]*tracked, 0, u.pendingCap())
	}
	found := false
	consider := func(t *tracked) {
		switch t.st {
		case pending:
			w.inserts = append(w.inserts, t)
			found = true
		case deleting:
			w.deletes = append(w.deletes, t)
			found = true
		case persistent:
			if !found && (len(t.plan.changes(&t.snap, t.ptr)) > 0 || u.refsDiffer(t)) {
				found = true
			}
			w.updates = append(w.updates, t)
		}
	}
	if set != nil {
		for t := range set {
			consider(t)
		}
		sortTracked(w.inserts)
	} else {
		w.inserts = u.appendPending(w.inserts) // already in Add order
		found = len(w.inserts) > 0
		for _, x := range u.byKey {
			for t := range x.all {
				consider(t)
			}
		}
	}
	if !found {
		return nil, nil
	}
	sortTracked(w.deletes)
	return w, nil
}

// refPairs iterates over t's ref fields whose target the session holds:
// each referencing field of t with the target and its matching key field.
func (u *unitOfWork) refPairs(t *tracked) iter.Seq2[*mapping.Field, keySource] {
	return func(yield func(*mapping.Field, keySource) bool) {
		m := t.m()
		for _, r := range m.Refs {
			target := u.holds.get(*(*unsafe.Pointer)(unsafe.Add(t.ptr, r.Offset)))
			if target == nil {
				continue
			}
			tm := target.m()
			for i, c := range r.Columns {
				if i >= len(tm.Keys) {
					break
				}
				if !yield(&m.Fields[c], keySource{target, &tm.Fields[tm.Keys[i]]}) {
					return
				}
			}
		}
	}
}

// keySource is one key field of a ref's target.
type keySource struct {
	t *tracked
	f *mapping.Field
}

// refsDiffer reports whether a ref field of t points to an object whose key
// differs from t's referencing columns.
func (u *unitOfWork) refsDiffer(t *tracked) bool {
	for f, src := range u.refPairs(t) {
		if !reflect.DeepEqual(keyValue(fieldValue(t.ptr, f)), keyValue(fieldValue(src.t.ptr, src.f))) {
			return true
		}
	}
	return false
}

// flush runs one flush; the session is entered.
func (s *Session) flush(ctx context.Context, op string, only []any) error {
	if err := s.usable(op); err != nil {
		return err
	}
	u := s.work
	if u == nil || u.holds.empty() {
		return nil
	}
	// the queue of added objects stays unfiled (a COPY files it while the
	// server inserts), but must list distinct objects
	u.holds.mu.Lock()
	u.holds.resolveSuspects()
	u.holds.mu.Unlock()
	w, err := u.collectWork(op, only)
	if err != nil || w == nil {
		return err
	}
	var tx pgx.Tx
	var conn *pgxpool.Conn
	inTx := len(s.txs) > 0
	if inTx {
		tx, err = s.exec.savepoint(ctx, s.txs[len(s.txs)-1].tx)
	} else {
		conn, tx, err = s.exec.begin(ctx, pgx.TxOptions{})
	}
	if err != nil {
		return fmt.Errorf("session: %s: beginning the flush: %w", op, err)
	}
	if conn != nil {
		defer conn.Release()
	}
	j := &journal{}
	defer j.done()
	done, err := u.write(ctx, s.exec.on(tx), w, j)
	if err == nil {
		err = s.exec.commit(ctx, tx, !inTx)
	}
	if err != nil {
		// the objects go back to how they were; after an ErrCommitUnknown
		// the database may have the changes all the same
		j.undo(u)
		rerr := s.exec.rollback(context.WithoutCancel(ctx), tx, !inTx)
		if inTx && rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			u.failed = err
		}
		return fmt.Errorf("session: %s: %w", op, withContext(ctx, err))
	}
	u.settle(done, j, inTx)
	return nil
}

// journal keeps a copy of each object the flush writes fields of (keys and
// defaults read back, versions, referencing columns), to put them back if
// the flush fails. Which objects it holds is marked on their records
// (tracked.jnl, tracked.jidx), not in maps: a flush of 100,000 inserts
// asks for each object, and map lookups showed in its profile. Every flush
// ends with done, which clears the marks.
type journal struct {
	saved []savedCopy
	slabs map[reflect.Type]*structSlab // the copies' memory
	// early lists the COPYs' lists of objects: those marked fEarly had
	// their snapshot and key taken while their rows were sent (see
	// copyRows), and settle uses them as they are. The lists themselves,
	// not a list of the marked objects: a flush of 100,000 rows would
	// allocate 800 KB for it, which inside a garbage collection cycle
	// costs milliseconds of assist.
	early [][]*tracked
	// zeroed lists objects whose only change is fields that were zero
	// before the flush (the keys and defaults a RETURNING fills in): undo
	// sets them back to zero, with no copy of the whole struct
	zeroed []zeroedFields
}

// What the journal holds for an object (tracked.jnl).
const (
	jNone   uint8 = iota
	jZeroed       // in journal.zeroed
	jSaved        // in journal.saved
)

type savedCopy struct {
	t  *tracked
	cp unsafe.Pointer
}

type zeroedFields struct {
	t      *tracked // nil once the object was saved in full
	fields []int
}

// saveZeroed records that the flush will fill fields of t that are zero
// now: undo zeroes them again. When t is already saved in full, or one of
// the fields is not zero, it falls back to save.
func (j *journal) saveZeroed(t *tracked, fields []int) {
	if t.jnl != jNone {
		return
	}
	m := t.m()
	for _, i := range fields {
		if !fieldIsZero(t.ptr, &m.Fields[i]) {
			j.save(t)
			return
		}
	}
	t.jnl, t.jidx = jZeroed, int32(len(j.zeroed))
	j.zeroed = append(j.zeroed, zeroedFields{t, fields})
}

// zeros returns the fields undo must zero on t (nil if none).
func (j *journal) zeros(t *tracked) []int {
	if t.jnl != jZeroed {
		return nil
	}
	return j.zeroed[t.jidx].fields
}

// zeroFields sets fields of t to their zero values.
func zeroFields(t *tracked, fields []int) {
	m := t.m()
	for _, i := range fields {
		f := &m.Fields[i]
		reflect.NewAt(f.Type, fieldPtr(t.ptr, f)).Elem().SetZero()
	}
}

// save copies t's struct before its first change in this flush.
func (j *journal) save(t *tracked) {
	if t.jnl == jSaved {
		return
	}
	if j.slabs == nil {
		j.slabs = map[reflect.Type]*structSlab{}
	}
	typ := t.m().Go
	if j.slabs[typ] == nil {
		j.slabs[typ] = &structSlab{typ: typ}
	}
	cp := j.slabs[typ].next()
	reflect.NewAt(typ, cp).Elem().Set(reflect.NewAt(typ, t.ptr).Elem())
	if t.jnl == jZeroed {
		// filled in since saveZeroed: the copy shows them as they were, zero
		z := &j.zeroed[t.jidx]
		zeroFieldsIn(cp, t, z.fields)
		z.t = nil
	}
	t.jnl, t.jidx = jSaved, int32(len(j.saved))
	j.saved = append(j.saved, savedCopy{t, cp})
}

// structSlab hands out zeroed structs of one type from slices that grow
// 16, 32, ... up to slabMax structs, instead of one allocation each.
type structSlab struct {
	typ  reflect.Type
	cur  reflect.Value // a []typ
	used int
}

// slabMax caps one slab: big enough that allocations are rare, small
// enough that a slab kept alive by one struct wastes little.
const slabMax = 1024

func (s *structSlab) next() unsafe.Pointer {
	if !s.cur.IsValid() || s.used == s.cur.Len() {
		n := 16
		if s.cur.IsValid() {
			n = min(2*s.cur.Len(), slabMax)
		}
		s.cur, s.used = reflect.MakeSlice(reflect.SliceOf(s.typ), n, n), 0
	}
	p := s.cur.Index(s.used).Addr().UnsafePointer()
	s.used++
	return p
}

// before returns t's struct as it was before the flush (nil if the flush
// did not change it).
func (j *journal) before(t *tracked) unsafe.Pointer {
	if t.jnl != jSaved {
		return nil
	}
	return j.saved[t.jidx].cp
}

// undo puts every object back as it was before the flush, and takes the
// objects settleEarly filed out of the index.
func (j *journal) undo(u *unitOfWork) {
	for _, ts := range j.early {
		for _, t := range ts {
			if t.has(fEarly) {
				u.unindex(t)
			}
		}
	}
	for _, s := range j.saved {
		reflect.NewAt(s.t.m().Go, s.t.ptr).Elem().Set(reflect.NewAt(s.t.m().Go, s.cp).Elem())
	}
	for _, z := range j.zeroed {
		if z.t != nil {
			zeroFields(z.t, z.fields)
		}
	}
}

// settleEarly takes t's snapshot and key now, and files t under its key,
// for settle, when nothing else in the flush writes t's fields any more.
// Should the flush fail, undo takes t out of the index again. An object
// whose key names another object the session holds is left to settle;
// held says whether the session held any object of t's type by key when
// the COPY began (if not, there is nothing to look for: a lookup in a
// big map costs a cache miss or two, as much as the filing itself).
func (j *journal) settleEarly(u *unitOfWork, t *tracked, slab *structSlab, held bool) {
	if t.snap.shallow == nil {
		t.snap.shallow = slab.next()
	}
	t.plan.take(&t.snap, t.ptr)
	if held {
		if other := u.lookupRow(t.m(), t.ptr); other != nil && other != t {
			return
		}
	}
	u.indexRow(t, t.ptr)
	t.set(fEarly, true)
}

// done clears the journal's marks on the objects; the journal is not used
// again.
func (j *journal) done() {
	for _, ts := range j.early {
		for _, t := range ts {
			t.set(fEarly, false)
		}
	}
	for _, s := range j.saved {
		s.t.jnl = jNone
	}
	for _, z := range j.zeroed {
		if z.t != nil {
			z.t.jnl = jNone
		}
	}
}

// setField writes v into field f of t, saving t first.
func (j *journal) setField(t *tracked, f *mapping.Field, v reflect.Value) {
	j.save(t)
	reflect.NewAt(f.Type, fieldPtr(t.ptr, f)).Elem().Set(v)
}

// flushed is what a successful flush did, applied to the bookkeeping once
// its transaction or savepoint has committed.
type flushed struct {
	inserted []*tracked
	updated  []*tracked
	deleted  []*tracked
}

// write sends the flush's statements on tx.
func (u *unitOfWork) write(ctx context.Context, tx flushConn, w *flushWork, j *journal) (*flushed, error) {
	types := w.types()
	info := make(map[*mapping.Type]*tableInfo, len(types))
	for _, m := range types {
		ti, err := u.s.maker.catalog.table(ctx, tx, m.Quoted)
		if err != nil {
			return nil, err
		}
		info[m] = ti
	}
	rank := rankTables(types, info)
	byTable := func(list []*tracked) [][]*tracked {
		if len(rank) == 1 {
			return [][]*tracked{list} // one table: no copy of a list of maybe 100,000
		}
		groups := make([][]*tracked, len(rank))
		for _, t := range list {
			r := rank[t.m()]
			groups[r] = append(groups[r], t)
		}
		return groups
	}
	done := &flushed{}
	for _, group := range byTable(w.inserts) {
		if len(group) == 0 {
			continue
		}
		lvls, err := levels(group, info[group[0].m()], &u.holds)
		if err != nil {
			return nil, err
		}
		for _, lv := range lvls {
			for _, t := range lv {
				u.copyRefs(t, j)
			}
			if err := insertRows(ctx, tx, u, lv, j); err != nil {
				return nil, err
			}
			if done.inserted == nil {
				done.inserted = slices.Clip(lv) // a later append copies instead of writing past lv
			} else {
				done.inserted = append(done.inserted, lv...)
			}
		}
	}
	var changed []*tracked
	var cols [][]int
	for _, group := range byTable(w.updates) {
		for _, t := range group {
			u.copyRefs(t, j)
			if c := t.plan.changes(&t.snap, t.ptr); len(c) > 0 {
				changed, cols = append(changed, t), append(cols, c)
			}
		}
	}
	if err := updateRows(ctx, tx, changed, cols, j); err != nil {
		return nil, err
	}
	done.updated = changed
	groups := byTable(w.deletes)
	for i := len(groups) - 1; i >= 0; i-- {
		if len(groups[i]) == 0 {
			continue
		}
		if err := deleteRows(ctx, tx, groups[i]); err != nil {
			return nil, err
		}
		done.deleted = append(done.deleted, groups[i]...)
	}
	return done, nil
}

// copyRefs fills t's referencing columns from the keys of the objects its
// ref fields point to, where those are held by the session and have keys.
func (u *unitOfWork) copyRefs(t *tracked, j *journal) {
	for f, src := range u.refPairs(t) {
		if fieldIsZero(src.t.ptr, src.f) {
			continue // not inserted yet
		}
		v, ok := convertKey(reflect.NewAt(src.f.Type, fieldPtr(src.t.ptr, src.f)).Elem(), f.Type)
		dst := reflect.NewAt(f.Type, fieldPtr(t.ptr, f)).Elem()
		if ok && !reflect.DeepEqual(dst.Interface(), v.Interface()) {
			j.setField(t, f, v)
		}
	}
}

// convertKey converts a key value to a referencing field's type: the same
// type, a convertible one (int32 -> int64), or a pointer to one (a nullable
// foreign key).
func convertKey(v reflect.Value, to reflect.Type) (reflect.Value, bool) {
	switch {
	case v.Type().AssignableTo(to):
		return v, true
	case v.Type().ConvertibleTo(to) && to.Kind() != reflect.String:
		return v.Convert(to), true
	case to.Kind() == reflect.Pointer:
		inner, ok := convertKey(v, to.Elem())
		if !ok {
			return v, false
		}
		p := reflect.New(to.Elem())
		p.Elem().Set(inner)
		return p, true
	}
	return v, false
}

// settle applies a committed flush to the bookkeeping: inserted objects
// become persistent, updated ones get new snapshots, deleted ones leave the
// session. Inside a transaction it records how to undo this on rollback.
func (u *unitOfWork) settle(done *flushed, j *journal, inTx bool) {
	for _, t := range done.deleted {
		if inTx {
			u.undo = append(u.undo, undoEntry{t: t, was: deleting, snap: t.snap})
		}
		u.drop(t)
	}
	snapshotSlabs(done.inserted)
	perType := map[reflect.Type]int{}
	for _, t := range done.inserted {
		if !t.has(fEarly) { // already filed: counting them would size the table for twice the rows
			perType[t.m().Go]++
		}
	}
	for typ, n := range perType {
		u.reserve(typ, n)
	}
	for _, t := range done.inserted {
		if inTx {
			u.undo = append(u.undo, undoEntry{t: t, was: pending, fields: j.before(t), zeros: j.zeros(t)})
		}
		t.st = persistent
		if t.has(fEarly) {
			continue // snapshot, key and index done (journal.settleEarly)
		}
		t.plan.take(&t.snap, t.ptr)
		u.indexRow(t, t.ptr)
	}
	for _, t := range done.updated {
		old := t.identity() // the key may have been updated: the snapshot has the old one
		if inTx {
			// the undo entry keeps the old snapshot; the new one gets memory of its own
			u.undo = append(u.undo, undoEntry{t: t, was: persistent, snap: t.snap, fields: j.before(t)})
			t.snap = snapshot{}
		}
		t.plan.take(&t.snap, t.ptr)
		u.rekey(t, old)
	}
	u.trimAdded()
	u.holds.settleNow() // what the flush did not file (a COPY files its rows as it sends them)
}

// snapshotSlabs gives the new snapshots of inserted objects their memory
// from a slab per type, instead of one allocation per object.
func snapshotSlabs(ts []*tracked) {
	slabs := map[reflect.Type]*structSlab{}
	for _, t := range ts {
		if t.snap.shallow == nil {
			typ := t.m().Go
			if slabs[typ] == nil {
				slabs[typ] = &structSlab{typ: typ}
			}
			t.snap.shallow = slabs[typ].next()
		}
	}
}

// zeroFieldsIn zeroes fields in the saved copy at cp of t's struct.
func zeroFieldsIn(cp unsafe.Pointer, t *tracked, fields []int) {
	if cp == nil {
		return
	}
	m := t.m()
	for _, i := range fields {
		f := &m.Fields[i]
		reflect.NewAt(f.Type, fieldPtr(cp, f)).Elem().SetZero()
	}
}

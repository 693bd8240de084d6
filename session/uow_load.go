package session

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/mapping"
)

type populateKey struct{}

// PopulateExisting returns a context whose loads through the session (Get
// of an expired object, Select, Refresh) overwrite the fields of objects
// already in the identity map with the rows just read, discarding their
// unflushed changes (SQLAlchemy's populate_existing). Without it, a row whose
// object is already in the map returns that object unchanged.
func PopulateExisting(ctx context.Context) context.Context {
	return context.WithValue(ctx, populateKey{}, true)
}

func populating(ctx context.Context) bool {
	v, _ := ctx.Value(populateKey{}).(bool)
	return v
}

// load passes one row, scanned into the struct at row (owned by the
// caller), through the identity map: it returns the object
// the session holds for that key, refreshed if it was expired or populate
// is set, or row itself, now persistent.
//
// slot and snap, when not nil, are memory for the new record and for its
// snapshot (already a copy of the row): Select allocates them for all its
// rows at once.
func (u *unitOfWork) load(plan *trackPlan, row unsafe.Pointer, populate bool, slot *tracked, snap unsafe.Pointer) *tracked {
	if t := u.lookupRow(plan.m, row); t != nil { // a loaded key is the row's, zero or not
		if populate || t.has(fExpired) {
			u.refresh(t, row, populate, nil)
		}
		return t
	}
	t := slot
	if t == nil {
		t = new(tracked)
	}
	*t = tracked{ptr: row, plan: plan, st: persistent}
	if snap != nil {
		t.snap.shallow = snap
		t.plan.takeDeep(&t.snap, row)
	} else {
		t.plan.take(&t.snap, row)
	}
	u.indexRow(t, row)
	if slot != nil {
		t.set(fRanged, true)
		t.held = true // Select files all its rows at once (holdRange)
	} else {
		u.hold(t)
	}
	return t
}

// refresh writes the row at row into t. Without overwrite, a field the
// program changed since the last load or flush keeps its value (and stays
// a change for the next flush); with it, every field takes the row's value.
// only limits the fields refreshed (nil: all, or the expired ones).
func (u *unitOfWork) refresh(t *tracked, row unsafe.Pointer, overwrite bool, only []int) {
	m := t.m()
	if only == nil && t.has(fExpired) {
		only = u.expiredCols[t]
	}
	fields := only
	if fields == nil {
		fields = make([]int, len(m.Fields))
		for i := range fields {
			fields[i] = i
		}
	}
	var keep []int
	for _, i := range fields {
		if !overwrite && t.snap.shallow != nil && t.plan.changed(&t.snap, t.ptr, i) {
			keep = append(keep, i)
		}
	}
	// the snapshot becomes the row: unchanged fields take it too
	var fresh snapshot
	t.plan.take(&fresh, row)
	if t.snap.shallow != nil && only != nil {
		// fields not refreshed keep their old snapshot
		t.plan.take(&fresh, mergeFields(m, t.snap.shallow, fresh.shallow, only))
	}
	for _, i := range fields {
		if !contains(keep, i) {
			f := &m.Fields[i]
			reflect.NewAt(f.Type, fieldPtr(t.ptr, f)).Elem().Set(reflect.NewAt(f.Type, fieldPtr(row, f)).Elem())
		}
	}
	t.snap = fresh
	t.set(fExpired, false)
	delete(u.expiredCols, t)
}

// mergeFields returns a struct with base's fields, but those in only taken
// from over.
func mergeFields(m *mapping.Type, base, over unsafe.Pointer, only []int) unsafe.Pointer {
	out := reflect.New(m.Go)
	out.Elem().Set(reflect.NewAt(m.Go, base).Elem())
	p := out.UnsafePointer()
	for _, i := range only {
		f := &m.Fields[i]
		reflect.NewAt(f.Type, fieldPtr(p, f)).Elem().Set(reflect.NewAt(f.Type, fieldPtr(over, f)).Elem())
	}
	return p
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// Select runs sql, a query returning T's columns (primary key included),
// and returns one *T per row through the session's identity map: a row
// whose object the session already holds returns that object, with its
// fields left as they are (unless it was expired, or ctx is from
// PopulateExisting); every other row becomes a new persistent object the
// session tracks. Pending changes are flushed first (autoflush), so the
// query sees them.
//
// Cost: Execute's (every row in memory, decoded in parallel for big
// results), plus per new object a shallow copy of the struct as its
// snapshot (and deep copies of fields that hold slices, maps or pointers)
// and a 40-byte record and a 21-byte entry in the table by key (the new
// objects are held as one address range, with no entry by address each).
// Measured for a 72-byte struct, 100,000 or a million rows: 133 bytes of
// tracking per object (245 held with the structs and the []*T) against 104
// for the structs alone (bench/README.md).
func Select[T any](ctx context.Context, s *Session, sql string, args ...any) ([]*T, error) {
	m := mapping.Of[T]()
	if err := m.Usable(); err != nil {
		return nil, fmt.Errorf("session: Select[%s]: %w: %w", m.Go, ErrNotMapped, err)
	}
	if err := s.enter("Select"); err != nil {
		return nil, err
	}
	defer s.leave()
	res, err := s.statement(ctx, "Select", sql, args)
	if err != nil {
		return nil, fmt.Errorf("session: Select[%s]: %w", m.Go, err)
	}
	v := buffered.Structs[T](res)
	rows := v.All()
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("session: Select[%s]: %w", m.Go, err)
	}
	u := s.uow()
	populate := populating(ctx)
	out := make([]*T, len(rows))
	// one allocation each for the records and the snapshots of all the rows
	u.reserve(m.Go, len(rows))
	slots := make([]tracked, len(rows))
	snaps := make([]T, len(rows))
	copy(snaps, rows)
	plan := planTracking(m)
	for i := range rows {
		p := &rows[i]
		out[i] = (*T)(u.load(plan, unsafe.Pointer(p), populate, &slots[i], unsafe.Pointer(&snaps[i])).ptr)
	}
	u.holdRange(unsafe.Pointer(unsafe.SliceData(rows)), m.Go.Size(), slots)
	return out, nil
}

// getSQL is the statement Get sends: every column of T, by key.
func getSQL(m *mapping.Type) string {
	var b strings.Builder
	b.WriteString("select ")
	for i, f := range m.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{f.Column}.Sanitize())
	}
	b.WriteString(" from ")
	b.WriteString(m.Quoted)
	b.WriteString(" where ")
	for i, k := range m.Keys {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(pgx.Identifier{m.Fields[k].Column}.Sanitize())
		b.WriteString(" = $")
		b.WriteString(strconv.Itoa(i + 1))
	}
	return b.String()
}

// lookupKey turns caller key values into the identity-map key, converting
// each to its field's type where Go can (an int for an int64 key); ok is
// false when a value cannot be converted (the query then decides).
func lookupKey(m *mapping.Type, key []any) (identity, bool) {
	vals := make([]any, len(key))
	for i, k := range m.Keys {
		f := &m.Fields[k]
		v := reflect.ValueOf(key[i])
		if !v.IsValid() {
			return identity{}, false
		}
		switch {
		case v.Type() == f.Type:
		case v.Type().ConvertibleTo(f.Type) && (f.Type.Kind() == reflect.String) == (v.Kind() == reflect.String):
			v = v.Convert(f.Type)
		default:
			return identity{}, false
		}
		vals[i] = v.Interface()
	}
	return makeIdentity(m.Go, vals), true
}

// get is Get and GetOne: the identity map first, then one query.
func get[T any](ctx context.Context, s *Session, op string, key []any) (*T, error) {
	m := mapping.Of[T]()
	if err := m.Usable(); err != nil {
		return nil, fmt.Errorf("session: %s[%s]: %w: %w", op, m.Go, ErrNotMapped, err)
	}
	if len(key) != len(m.Keys) {
		return nil, fmt.Errorf("session: %s[%s]: %s has the primary key %s: want %d key value(s), in that order, got %d",
			op, m.Go, m.Quoted, m.KeyColumns(), len(m.Keys), len(key))
	}
	if err := s.enter(op); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := s.usable(op); err != nil {
		return nil, err
	}
	u := s.uow()
	if id, ok := lookupKey(m, key); ok {
		if t := u.lookup(id); t != nil && !t.has(fExpired) && !populating(ctx) {
			if t.st == deleting {
				return nil, nil
			}
			return (*T)(t.ptr), nil
		}
	}
	res, err := s.statement(ctx, op, getSQL(m), key)
	if err != nil {
		return nil, fmt.Errorf("session: %s[%s]: %w", op, m.Go, err)
	}
	row, ok, err := buffered.Structs[T](res).OneOrNone()
	if err != nil {
		return nil, fmt.Errorf("session: %s[%s]: %w", op, m.Go, err)
	}
	if !ok {
		return nil, nil
	}
	p := &row
	t := u.load(planTracking(m), unsafe.Pointer(p), populating(ctx), nil, nil)
	if t.st == deleting {
		return nil, nil
	}
	return (*T)(t.ptr), nil
}

// Refresh reloads obj's columns from the database now, discarding its
// unflushed changes to them (SQLAlchemy's refresh); with column names,
// only those columns. One query by the key as last loaded or flushed; no
// autoflush. A row that no longer exists is an error wrapping
// buffered.ErrNoRows.
func (s *Session) Refresh(ctx context.Context, obj any, columns ...string) error {
	if err := s.enter("Refresh"); err != nil {
		return err
	}
	defer s.leave()
	if err := s.usable("Refresh"); err != nil {
		return err
	}
	t, err := s.held("Refresh", obj)
	if err != nil {
		return err
	}
	if t.st == pending {
		return fmt.Errorf("session: Refresh(%T): the object is pending: it has no row yet (Flush first)", obj)
	}
	m := t.m()
	only, err := fieldsNamed(m, columns)
	if err != nil {
		return fmt.Errorf("session: Refresh(%s): %w", t.identity().export(), err)
	}
	key := make([]any, len(m.Keys))
	for i, k := range m.Keys {
		key[i] = fieldValue(t.snap.shallow, &m.Fields[k])
	}
	row := reflect.New(m.Go)
	if err := s.scanRow(ctx, getSQL(m), key, m, row.UnsafePointer()); err != nil {
		return fmt.Errorf("session: Refresh(%s): %w", t.identity().export(), err)
	}
	u := s.work
	t.set(fExpired, false)
	u.refresh(t, row.UnsafePointer(), true, only)
	return nil
}

// fieldsNamed maps column names to field indexes (nil for none).
func fieldsNamed(m *mapping.Type, columns []string) ([]int, error) {
	if len(columns) == 0 {
		return nil, nil
	}
	out := make([]int, len(columns))
	for i, c := range columns {
		if out[i] = m.Field(c); out[i] < 0 {
			return nil, fmt.Errorf("%s has no column %q", m.Go, c)
		}
	}
	return out, nil
}

// Expire marks obj's loaded state as stale (SQLAlchemy's expire); with
// column names, only those columns. Go cannot intercept a field read, so
// "expired" means: the fields keep their values, Get sends a query for the
// object instead of answering from the identity map, and the next load of
// its row through the session (Get, Select, Refresh) overwrites the expired
// fields the program has not changed since; a field changed after Expire is
// still written by the next flush, as in SQLAlchemy. No SQL.
func (s *Session) Expire(obj any, columns ...string) error {
	if err := s.enter("Expire"); err != nil {
		return err
	}
	defer s.leave()
	t, err := s.held("Expire", obj)
	if err != nil {
		return err
	}
	if t.st == pending {
		return nil
	}
	only, err := fieldsNamed(t.m(), columns)
	if err != nil {
		return fmt.Errorf("session: Expire(%s): %w", t.identity().export(), err)
	}
	u := s.work
	if t.has(fExpired) && u.expiredCols[t] == nil {
		return nil // already expired whole
	}
	if only == nil {
		delete(u.expiredCols, t)
	} else {
		if t.has(fExpired) {
			only = append(only, u.expiredCols[t]...)
		}
		if u.expiredCols == nil {
			u.expiredCols = map[*tracked][]int{}
		}
		u.expiredCols[t] = only
	}
	t.set(fExpired, true)
	return nil
}

// ExpireAll expires every persistent object in the session (see Expire).
func (s *Session) ExpireAll() error {
	if err := s.enter("ExpireAll"); err != nil {
		return err
	}
	defer s.leave()
	if s.work != nil {
		s.work.expireAll()
	}
	return nil
}

// NoAutoflush runs fn with autoflush suspended on s (SQLAlchemy's
// no_autoflush): statements fn runs through s do not flush first.
func (s *Session) NoAutoflush(fn func()) {
	u := s.uow()
	u.noAutoflush++
	defer func() { u.noAutoflush-- }()
	fn()
}

// Merge copies the state of obj, a detached object (not held by s), onto the
// object s holds for the same key, loading it by key if s does not hold it
// yet, and returns that object; obj itself stays detached (SQLAlchemy's
// merge). When no row has that key (or obj's server-generated key is still
// zero), a new pending copy of obj is added and returned. Merging an object
// s already holds returns it unchanged. Every column field is copied,
// read-only ones included; ref fields are copied as they are.
//
// Cost: nothing when s already holds the key; otherwise Get's one query
// (after an autoflush).
func Merge[T any](ctx context.Context, s *Session, obj *T) (*T, error) {
	o, err := inspect("Merge", obj)
	if err != nil {
		return nil, err
	}
	if s.Contains(obj) {
		return obj, nil
	}
	m := o.m
	id, known := keyOf(m, o.ptr)
	var target *T
	if known {
		key := id.export().Key
		target, err = get[T](ctx, s, "Merge", key)
		if err != nil {
			return nil, err
		}
	}
	if target == nil {
		cp := new(T)
		*cp = *obj
		if err := s.Add(cp); err != nil {
			return nil, err
		}
		return cp, nil
	}
	*target = *obj
	return target, nil
}

// scanRow runs sql (T's columns in field order) where the session's
// statements run and scans its one row into the struct at row.
func (s *Session) scanRow(ctx context.Context, sql string, args []any, m *mapping.Type, row unsafe.Pointer) error {
	return s.exec.run(ctx, s.current(), sql, args, s.streamConns.Load(), func(rows pgx.Rows) error {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("no row in %s with %s: %w", m.Quoted, m.KeyColumns(), buffered.ErrNoRows)
		}
		targets := make([]any, len(m.Fields))
		for i := range m.Fields {
			f := &m.Fields[i]
			targets[i] = reflect.NewAt(f.Type, fieldPtr(row, f)).Interface()
		}
		if err := rows.Scan(targets...); err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
}

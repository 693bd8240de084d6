package session

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/internal/mapping"
)

const (
	// insertChunkRows caps the rows of one multi-row INSERT: big enough that
	// the round trip is paid once per many rows, small enough that the
	// statement text and its parameters stay a few hundred kilobytes.
	insertChunkRows = 1000
	// maxParams is PostgreSQL's limit of bind parameters per statement.
	maxParams = 65535
	// copyMinRows is the fewest rows worth a COPY when nothing needs to come
	// back: COPY costs two round trips to INSERT's one, and wins on volume.
	copyMinRows = 64
)

// flushConn is where a flush sends its statements: the executor's
// stmtRunner on the flush's transaction or savepoint.
type flushConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	// Conn is the transaction's connection, for the statements a flush
	// pipelines itself; each of them still goes through Send.
	Conn() *pgx.Conn
	Send(ctx context.Context, kind, sql string, run func(ctx context.Context) error) error
}

// insertShape is the columns one INSERT writes and reads back.
type insertShape struct {
	write []int // field indexes written
	back  []int // field indexes read back with RETURNING
}

// shapeOf is the INSERT shape of one pending object: a `default` field
// that is zero is left to the server and read back; read-only fields are
// read back.
func shapeOf(t *tracked) insertShape {
	m := t.m()
	var sh insertShape
	for i := range m.Fields {
		f := &m.Fields[i]
		switch {
		case f.ReadOnly:
			sh.back = append(sh.back, i)
		case f.Default && fieldIsZero(t.ptr, f):
			sh.back = append(sh.back, i)
		default:
			sh.write = append(sh.write, i)
		}
	}
	return sh
}

// shapeSig tells shapes apart without allocating: objects of one type
// differ only in which default fields they leave to the server, so bit n is
// set when the n-th default field is. Past 64 default fields two shapes can
// share a signature, and the caller compares the shapes themselves.
func shapeSig(t *tracked) (sig uint64, exact bool) {
	m := t.m()
	nd := 0
	for i := range m.Fields {
		f := &m.Fields[i]
		if !f.Default {
			continue
		}
		if fieldIsZero(t.ptr, f) {
			sig |= 1 << (nd % 64)
		}
		nd++
	}
	return sig, nd <= 64
}

// sameSig reports whether every object of ts has shape signature sig.
func sameSig(ts []*tracked, sig uint64) bool {
	for _, t := range ts {
		if s, _ := shapeSig(t); s != sig {
			return false
		}
	}
	return true
}

// oneShape reports whether every object of ts leaves the same fields to
// the server: always, without a look at each object, when the type has no
// server-default fields.
func oneShape(m *mapping.Type, ts []*tracked) bool {
	if !slices.ContainsFunc(m.Fields, func(f mapping.Field) bool { return f.Default }) {
		return true
	}
	sig, exact := shapeSig(ts[0])
	return exact && sameSig(ts, sig)
}

// sameShape reports whether two shapes write the same fields.
func sameShape(a, b insertShape) bool { return slices.Equal(a.write, b.write) }

// insertRows inserts one level of one table's pending objects: grouped by
// shape, in chunks, with COPY when nothing comes back.
func insertRows(ctx context.Context, tx flushConn, u *unitOfWork, ts []*tracked, j *journal) error {
	m := ts[0].m()
	if m.Version >= 0 {
		f := &m.Fields[m.Version]
		for _, t := range ts {
			if fieldIsZero(t.ptr, f) {
				j.setField(t, f, reflect.ValueOf(1).Convert(f.Type))
			}
		}
	}
	// group the objects by shape, keeping the order in which shapes appear
	type group struct {
		sh   insertShape
		rows []*tracked
	}
	var groups []*group
	if oneShape(m, ts) {
		// the common case: one group, no copy of the list
		groups = []*group{{sh: shapeOf(ts[0]), rows: ts}}
		ts = nil
	}
	bySig := map[uint64][]*group{}
	for _, t := range ts {
		sig, exact := shapeSig(t)
		var g *group
		if exact && len(bySig[sig]) == 1 {
			g = bySig[sig][0]
		} else {
			sh := shapeOf(t)
			for _, c := range bySig[sig] {
				if sameShape(c.sh, sh) {
					g = c
					break
				}
			}
		}
		if g == nil {
			sh := shapeOf(t)
			g = &group{sh: sh}
			groups = append(groups, g)
			bySig[sig] = append(bySig[sig], g)
		}
		g.rows = append(g.rows, t)
	}
	for _, g := range groups {
		rows, sh := g.rows, g.sh
		if len(sh.back) == 0 && len(rows) >= copyMinRows {
			if err := copyRows(ctx, tx, u, m, sh, rows, j); err != nil {
				return err
			}
			continue
		}
		per := min(insertChunkRows, maxParams/max(1, len(sh.write)))
		if len(sh.write) > 0 && len(sh.back) > 0 {
			var err error
			if rows, err = insertPipelined(ctx, tx, m, sh, rows, per, j); err != nil {
				return err
			}
		}
		for len(rows) > 0 {
			n := min(per, len(rows))
			if err := insertChunk(ctx, tx, m, sh, rows[:n], j); err != nil {
				return err
			}
			rows = rows[n:]
		}
	}
	return nil
}

func columnList(m *mapping.Type, idx []int) string {
	var b strings.Builder
	for i, k := range idx {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{m.Fields[k].Column}.Sanitize())
	}
	return b.String()
}

// insertChunk sends one multi-row INSERT ... RETURNING and writes what comes
// back into the objects, in row order (PostgreSQL returns the rows of a
// multi-row VALUES insert in the order of the list).
func insertChunk(ctx context.Context, tx flushConn, m *mapping.Type, sh insertShape, ts []*tracked, j *journal) error {
	if len(sh.write) == 0 {
		// every column is the server's: one statement per row
		for _, t := range ts {
			sql := "insert into " + m.Quoted + " default values returning " + columnList(m, sh.back)
			if err := readBack(ctx, tx, m, sh, []*tracked{t}, sql, nil, j); err != nil {
				return err
			}
		}
		return nil
	}
	args := appendRowArgs(make([]any, 0, len(ts)*len(sh.write)), m, sh, ts)
	sql := insertSQL(m, sh, len(ts))
	if len(sh.back) == 0 {
		_, err := tx.Exec(ctx, sql, args...)
		return insertError(m, err)
	}
	return readBack(ctx, tx, m, sh, ts, sql, args, j)
}

// placeholders are "$1" to "$64", made once: an UPDATE or a DELETE row
// names a few parameters, and making each text anew allocated per object.
var placeholders = func() []string {
	out := make([]string, 65)
	for i := 1; i < len(out); i++ {
		out[i] = "$" + strconv.Itoa(i)
	}
	return out
}()

// placeholder is the text of parameter n.
func placeholder(n int) string {
	if n < len(placeholders) {
		return placeholders[n]
	}
	return "$" + strconv.Itoa(n)
}

// insertSQLKey names one multi-row INSERT text: the type, the columns
// written and read back, and the row count.
type insertSQLKey struct {
	m           *mapping.Type
	write, back string
	rows        int
}

// insertSQLs caches the text of multi-row INSERTs: a flush of many objects
// sends the same full-chunk statement again and again, and building its
// thousands of placeholders each time showed in profiles. Bounded: only
// statements of insertChunkRows rows (or fewer when the parameter limit
// caps a chunk) of shapes a program actually flushes.
var insertSQLs sync.Map // insertSQLKey -> string

// insertSQL is the INSERT of rows objects of shape sh.
func insertSQL(m *mapping.Type, sh insertShape, rows int) string {
	key := insertSQLKey{m: m, write: columnList(m, sh.write), back: columnList(m, sh.back), rows: rows}
	if sql, ok := insertSQLs.Load(key); ok {
		return sql.(string)
	}
	var b strings.Builder
	b.Grow(64 + len(m.Quoted) + len(key.write) + len(key.back) + rows*len(sh.write)*8)
	b.WriteString("insert into ")
	b.WriteString(m.Quoted)
	b.WriteString(" (")
	b.WriteString(key.write)
	b.WriteString(") values ")
	var num [20]byte
	n := 0
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range sh.write {
			if i > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteByte('$')
			b.Write(strconv.AppendInt(num[:0], int64(n), 10))
		}
		b.WriteByte(')')
	}
	if len(sh.back) > 0 {
		b.WriteString(" returning ")
		b.WriteString(key.back)
	}
	sql := b.String()
	if rows == insertChunkRows || rows*len(sh.write) > maxParams-len(sh.write) {
		insertSQLs.Store(key, sql) // only full chunks repeat; a last, short chunk is built anew
	}
	return sql
}

// readBack runs an INSERT ... RETURNING and scans row i into ts[i].
func readBack(ctx context.Context, tx flushConn, m *mapping.Type, sh insertShape, ts []*tracked, sql string, args []any, j *journal) error {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return insertError(m, err)
	}
	defer rows.Close()
	i := 0
	targets := make([]any, len(sh.back))
	order := newKeyOrder(m, sh)
	for rows.Next() {
		if i >= len(ts) {
			return fmt.Errorf("insert into %s returned more rows than it inserted", m.Quoted)
		}
		t := ts[i]
		j.saveZeroed(t, sh.back)
		for c, k := range sh.back {
			f := &m.Fields[k]
			targets[c] = reflect.NewAt(f.Type, fieldPtr(t.ptr, f)).Interface()
		}
		if err := rows.Scan(targets...); err != nil {
			return fmt.Errorf("insert into %s: reading back %s: %w", m.Quoted, columnList(m, sh.back), err)
		}
		if err := order.check(t); err != nil {
			return err
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return insertError(m, err)
	}
	if i != len(ts) {
		return fmt.Errorf("insert into %s returned %d rows for %d objects", m.Quoted, i, len(ts))
	}
	return nil
}

// appendRowArgs appends the fields sh writes of each object of ts, row by
// row: the parameters of a multi-row INSERT.
func appendRowArgs(args []any, m *mapping.Type, sh insertShape, ts []*tracked) []any {
	for _, t := range ts {
		for _, k := range sh.write {
			args = append(args, fieldValue(t.ptr, &m.Fields[k]))
		}
	}
	return args
}

// keyOrder checks the keys a RETURNING assigns, row after row: keys from a
// sequence grow in insertion order, so rows that came back in another
// order would give objects each other's keys.
type keyOrder struct {
	m    *mapping.Type
	seq  *mapping.Field // nil: no sequence key read back, nothing to check
	last int64
	n    int
}

func newKeyOrder(m *mapping.Type, sh insertShape) keyOrder {
	return keyOrder{m: m, seq: sequenceKey(m, sh)}
}

// check takes the key just read back into t.
func (o *keyOrder) check(t *tracked) error {
	if o.seq == nil {
		return nil
	}
	k := reflect.NewAt(o.seq.Type, fieldPtr(t.ptr, o.seq)).Elem().Int()
	if o.n > 0 && k <= o.last {
		return fmt.Errorf("insert into %s: RETURNING gave key %d after %d, not in row order; refusing to assign keys", o.m.Quoted, k, o.last)
	}
	o.last, o.n = k, o.n+1
	return nil
}

// sequenceKey is the field of a single-column integer key the server makes
// (identity, serial) when sh reads it back, else nil.
func sequenceKey(m *mapping.Type, sh insertShape) *mapping.Field {
	if len(m.Keys) != 1 {
		return nil
	}
	f := &m.Fields[m.Keys[0]]
	switch f.Type.Kind() {
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
	default:
		return nil
	}
	for _, k := range sh.back {
		if k == m.Keys[0] {
			return f
		}
	}
	return nil
}

func insertError(m *mapping.Type, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("insert into %s: %w", m.Quoted, err)
}

// updateRows sends one UPDATE per changed object, all in one batch: SET the
// changed columns (and the version, incremented), WHERE the key as last
// flushed (and the version as loaded), RETURNING the read-only columns.
func updateRows(ctx context.Context, tx flushConn, ts []*tracked, cols [][]int, j *journal) error {
	if len(ts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for i, t := range ts {
		sql, args := updateStatement(t, cols[i], j)
		b.Queue(sql, args...)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, t := range ts {
		m := t.m()
		back := readOnlyFields(m)
		if len(back) == 0 {
			tag, err := br.Exec()
			if err != nil {
				return fmt.Errorf("update %s: %w", m.Quoted, err)
			}
			if tag.RowsAffected() != 1 {
				return &StaleDataError{Op: "UPDATE", Object: t.object(), Key: t.identity().export()}
			}
			continue
		}
		targets := make([]any, len(back))
		for c, k := range back {
			f := &m.Fields[k]
			j.save(t)
			targets[c] = reflect.NewAt(f.Type, fieldPtr(t.ptr, f)).Interface()
		}
		if err := br.QueryRow().Scan(targets...); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return &StaleDataError{Op: "UPDATE", Object: t.object(), Key: t.identity().export()}
			}
			return fmt.Errorf("update %s: %w", m.Quoted, err)
		}
	}
	return br.Close()
}

func readOnlyFields(m *mapping.Type) []int {
	var out []int
	for i, f := range m.Fields {
		if f.ReadOnly {
			out = append(out, i)
		}
	}
	return out
}

// updateStatement builds one object's UPDATE. Key and version in the WHERE
// clause come from the snapshot: the row as the session last saw it.
func updateStatement(t *tracked, cols []int, j *journal) (string, []any) {
	m := t.m()
	args := make([]any, 0, len(cols)+len(m.Keys)+2)
	for _, k := range cols {
		if k != m.Version { // set below, from the snapshot's value
			args = append(args, fieldValue(t.ptr, &m.Fields[k]))
		}
	}
	if m.Version >= 0 {
		f := &m.Fields[m.Version]
		old := reflect.NewAt(f.Type, fieldPtr(t.snap.shallow, f)).Elem()
		next := reflect.New(f.Type).Elem()
		next.SetInt(old.Int() + 1)
		j.setField(t, f, next)
		args = append(args, next.Interface())
	}
	for _, k := range m.Keys {
		args = append(args, fieldValue(t.snap.shallow, &m.Fields[k]))
	}
	if m.Version >= 0 {
		args = append(args, fieldValue(t.snap.shallow, &m.Fields[m.Version]))
	}
	return updateSQL(m, cols), args
}

// updateSQLKey names the UPDATE of one set of changed fields of one type
// (bit i: field i), for types of at most 64 fields.
type updateSQLKey struct {
	m       *mapping.Type
	changed uint64
}

// updateSQLs caches UPDATE texts: a flush of 10,000 objects with the same
// column changed sends one text 10,000 times, and building it (quoting
// each identifier) cost more than encoding the row. Bounded by
// maxUpdateSQLs: a program that changes ever new combinations of columns
// gets texts built anew once the cache is full.
var (
	updateSQLs     sync.Map // updateSQLKey -> string
	updateSQLCount atomic.Int64
)

const maxUpdateSQLs = 4096

// updateSQL is the text of the UPDATE of fields cols of one row of m: SET
// the changed columns (and the version), WHERE the key (and the version),
// RETURNING the read-only columns; parameters in that order.
func updateSQL(m *mapping.Type, cols []int) string {
	var key updateSQLKey
	cacheable := len(m.Fields) <= 64
	if cacheable {
		key.m = m
		for _, k := range cols {
			key.changed |= 1 << k
		}
		if sql, ok := updateSQLs.Load(key); ok {
			return sql.(string)
		}
	}
	var b strings.Builder
	n := 0
	param := func() string {
		n++
		return placeholder(n)
	}
	b.WriteString("update ")
	b.WriteString(m.Quoted)
	b.WriteString(" set ")
	first := true
	for _, k := range cols {
		if k == m.Version {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(pgx.Identifier{m.Fields[k].Column}.Sanitize())
		b.WriteString(" = ")
		b.WriteString(param())
	}
	if m.Version >= 0 {
		if !first {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{m.Fields[m.Version].Column}.Sanitize())
		b.WriteString(" = ")
		b.WriteString(param())
	}
	b.WriteString(" where ")
	for i, k := range m.Keys {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(pgx.Identifier{m.Fields[k].Column}.Sanitize())
		b.WriteString(" = ")
		b.WriteString(param())
	}
	if m.Version >= 0 {
		b.WriteString(" and ")
		b.WriteString(pgx.Identifier{m.Fields[m.Version].Column}.Sanitize())
		b.WriteString(" = ")
		b.WriteString(param())
	}
	if back := readOnlyFields(m); len(back) > 0 {
		b.WriteString(" returning ")
		b.WriteString(columnList(m, back))
	}
	sql := b.String()
	if cacheable && updateSQLCount.Load() < maxUpdateSQLs {
		if _, loaded := updateSQLs.LoadOrStore(key, sql); !loaded {
			updateSQLCount.Add(1)
		}
	}
	return sql
}

// deleteRows deletes one table's objects in one statement per chunk: by
// key = ANY($1) for a single-column key without a version, else by
// (key..., version) IN ((...), ...). With a version column every row must
// match; without one, a row already gone is not an error.
func deleteRows(ctx context.Context, tx flushConn, ts []*tracked) error {
	m := ts[0].m()
	if len(m.Keys) == 1 && m.Version < 0 {
		f := &m.Fields[m.Keys[0]]
		keys := reflect.MakeSlice(reflect.SliceOf(f.Type), 0, len(ts))
		for _, t := range ts {
			keys = reflect.Append(keys, reflect.NewAt(f.Type, fieldPtr(t.snap.shallow, f)).Elem())
		}
		sql := "delete from " + m.Quoted + " where " + pgx.Identifier{f.Column}.Sanitize() + " = any($1)"
		_, err := tx.Exec(ctx, sql, keys.Interface())
		return deleteError(m, err)
	}
	cols := append([]int(nil), m.Keys...)
	if m.Version >= 0 {
		cols = append(cols, m.Version)
	}
	per := maxParams / len(cols)
	for len(ts) > 0 {
		n := min(per, len(ts))
		if err := deleteChunk(ctx, tx, m, cols, ts[:n]); err != nil {
			return err
		}
		ts = ts[n:]
	}
	return nil
}

func deleteChunk(ctx context.Context, tx flushConn, m *mapping.Type, cols []int, ts []*tracked) error {
	var b strings.Builder
	b.WriteString("delete from ")
	b.WriteString(m.Quoted)
	b.WriteString(" where (")
	b.WriteString(columnList(m, cols))
	b.WriteString(") in (")
	args := make([]any, 0, len(ts)*len(cols))
	for r, t := range ts {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i, k := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, fieldValue(t.snap.shallow, &m.Fields[k]))
			b.WriteString(placeholder(len(args)))
		}
		b.WriteByte(')')
	}
	b.WriteString(")")
	if m.Version < 0 {
		_, err := tx.Exec(ctx, b.String(), args...)
		return deleteError(m, err)
	}
	b.WriteString(" returning ")
	b.WriteString(columnList(m, m.Keys))
	rows, err := tx.Query(ctx, b.String(), args...)
	if err != nil {
		return deleteError(m, err)
	}
	gone := map[identity]bool{}
	vals := make([]any, len(m.Keys))
	ptrs := make([]any, len(m.Keys))
	for i, k := range m.Keys {
		ptrs[i] = reflect.New(m.Fields[k].Type).Interface()
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return deleteError(m, err)
		}
		for i := range ptrs {
			vals[i] = reflect.ValueOf(ptrs[i]).Elem().Interface()
		}
		gone[makeIdentity(m.Go, vals)] = true
	}
	if err := rows.Err(); err != nil {
		return deleteError(m, err)
	}
	for _, t := range ts {
		if !gone[t.identity()] {
			return &StaleDataError{Op: "DELETE", Object: t.object(), Key: t.identity().export()}
		}
	}
	return nil
}

func deleteError(m *mapping.Type, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("delete from %s: %w", m.Quoted, err)
}

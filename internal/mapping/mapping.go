// Package mapping is the one place that decides how a Go struct maps to a
// table: its columns, its table name, its primary key and the column
// options the unit of work uses. buffered.Structs, session.Get and the
// session's unit of work all read a struct through it, so they cannot
// disagree. A Type is built once per Go type and cached for the process.
//
// The rules, in the `db` tag style of pgx:
//
//   - Every exported field is a column; embedded structs are flattened;
//     `db:"-"` skips a field. A tagged field's column is its tag; an
//     untagged field's column is the snake_case of its name (UserID ->
//     user_id). Two fields naming one column is an error naming both.
//   - Options follow the column name: `db:"id,pk,default"`.
//     pk: part of the primary key (several for a composite key, in field
//     order). default: the server fills the column when the field is zero
//     (identity, serial, `default now()`): INSERT leaves it out and reads it
//     back with RETURNING. readonly: never written (generated columns);
//     read back after INSERT and UPDATE. version: an optimistic-locking
//     counter, checked and incremented by every UPDATE and DELETE. Any other
//     option is an error naming the field.
//   - A field tagged `ref:"parent_id"` (a pointer to another mapped struct)
//     is a reference, not a column: the unit of work inserts the object it
//     points to first and copies that object's primary key into the listed
//     columns (comma-separated for a composite key, in key order).
//   - The table is TableName() string when the type has that method, else
//     the `table` tag of a blank field (`_ struct{} \`table:"app.users"\“),
//     else the snake_case of the type's name. A dot separates schema and
//     table. The key is PrimaryKey() []string when the type has that method,
//     else the pk-tagged fields.
package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// ErrNoPrimaryKey says a type's primary key is unknown.
var ErrNoPrimaryKey = errors.New("no primary key: tag the key field(s) `db:\"column,pk\"` or give the type a PrimaryKey() []string method")

// ErrNoTable says a type has no table name.
var ErrNoTable = errors.New("no table name: add a blank field _ struct{} with a `table:\"name\"` tag, or a TableName() string method")

// Field is one column of a struct.
type Field struct {
	Name     string       // the Go path, "Base.ID" for a field of an embedded struct
	Column   string       // the column name, unquoted
	Tagged   bool         // the column comes from a `db` tag (else from the field name)
	Offset   uintptr      // from the start of the struct
	Type     reflect.Type // the field's type
	PK       bool         // part of the primary key
	Default  bool         // server-generated when zero: left out of INSERT, read back
	ReadOnly bool         // never written; read back after INSERT and UPDATE
	Version  bool         // optimistic-locking counter
}

// Ref is a reference field: a pointer to another mapped struct whose key
// fills Columns of this one.
type Ref struct {
	Name    string       // the Go path of the pointer field
	Offset  uintptr      // of the pointer field
	Target  reflect.Type // the struct type pointed to
	Columns []int        // indexes into Type.Fields, in the target's key order
}

// Type is how one struct type maps to a table.
type Type struct {
	Go     reflect.Type
	Fields []Field // the columns, in declaration order (embedded flattened)
	Refs   []Ref
	// Err is set when the type cannot be mapped at all (not a struct, an
	// unknown tag option, two fields on one column, ...): nothing else is.
	Err error

	// Table is the table name as given ("app.users"), Ident its parts and
	// Quoted the sanitized identifier; TableErr says why there is none.
	Table    string
	Ident    pgx.Identifier
	Quoted   string
	TableErr error

	// Keys indexes the primary-key fields in key order; KeyErr says why
	// there is none (errors.Is ErrNoPrimaryKey).
	Keys   []int
	KeyErr error

	Version int // index of the version field, -1 if none

	byColumn map[string]int
	refCols  [][]string // ref tag columns until resolveRefs
}

var cache sync.Map // reflect.Type -> *Type

// For returns the mapping of t, built on first use and cached. It never
// returns nil: check Err (and TableErr, KeyErr where a table or a key is
// needed).
func For(t reflect.Type) *Type {
	if m, ok := cache.Load(t); ok {
		return m.(*Type)
	}
	m := build(t)
	actual, _ := cache.LoadOrStore(t, m)
	return actual.(*Type)
}

// Of is For of T.
func Of[T any]() *Type { return For(reflect.TypeFor[T]()) }

// Field returns the index of the field mapped to column, or -1.
func (m *Type) Field(column string) int {
	if i, ok := m.byColumn[column]; ok {
		return i
	}
	return -1
}

// KeyColumns lists the key columns for messages: "(org_id, id)".
func (m *Type) KeyColumns() string {
	names := make([]string, len(m.Keys))
	for i, k := range m.Keys {
		names[i] = m.Fields[k].Column
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// Usable returns the first error that keeps the type from being read or
// written by key: Err, then TableErr, then KeyErr.
func (m *Type) Usable() error {
	switch {
	case m.Err != nil:
		return m.Err
	case m.TableErr != nil:
		return m.TableErr
	default:
		return m.KeyErr
	}
}

func build(t reflect.Type) *Type {
	m := &Type{Go: t, Version: -1}
	if t.Kind() != reflect.Struct {
		m.Err = fmt.Errorf("%s is not a struct", t)
		return m
	}
	tagTable, err := m.walk(t, 0, "", true)
	if err != nil {
		m.Err = err
		return m
	}
	m.byColumn = make(map[string]int, len(m.Fields))
	for i, f := range m.Fields {
		m.byColumn[f.Column] = i
		if f.Version {
			if m.Version >= 0 {
				m.Err = fmt.Errorf("%s: fields %s and %s are both tagged version; a table has one version counter", t, m.Fields[m.Version].Name, f.Name)
				return m
			}
			m.Version = i
		}
	}
	zero := reflect.New(t).Interface()
	m.table(t, zero, tagTable)
	m.keys(t, zero)
	if m.Err == nil {
		m.Err = m.resolveRefs()
	}
	return m
}

// walk adds t's fields at base; it returns the table named by a top-level
// `table` tag.
func (m *Type) walk(t reflect.Type, base uintptr, prefix string, top bool) (table string, err error) {
	seen := map[string]string{}
	for _, f := range m.Fields {
		seen[f.Column] = f.Name
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if tt, ok := sf.Tag.Lookup("table"); ok && top {
			if table != "" {
				return "", fmt.Errorf("%s has more than one `table` tag", t)
			}
			if tt == "" {
				return "", fmt.Errorf("%s field %s has an empty `table` tag", t, sf.Name)
			}
			table = tt
		}
		if sf.PkgPath != "" && !sf.Anonymous {
			continue // unexported, and the blank table field
		}
		if ref, ok := sf.Tag.Lookup("ref"); ok {
			if err := m.addRef(sf, base, prefix, ref); err != nil {
				return "", err
			}
			continue
		}
		tag, tagged := sf.Tag.Lookup("db")
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && !tagged {
			if _, err := m.walk(sf.Type, base+sf.Offset, prefix+sf.Name+".", false); err != nil {
				return "", err
			}
			for _, f := range m.Fields {
				seen[f.Column] = f.Name
			}
			continue
		}
		if sf.PkgPath != "" {
			continue // an unexported embedded non-struct
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		f := Field{Name: prefix + sf.Name, Column: name, Tagged: tagged, Offset: base + sf.Offset, Type: sf.Type}
		if !tagged {
			f.Column = SnakeCase(sf.Name)
		} else if name == "" {
			return "", fmt.Errorf("%s field %s has a `db` tag without a column name (write `db:\"column\"` or `db:\"column,pk\"`)", t, f.Name)
		}
		if err := f.options(t, opts); err != nil {
			return "", err
		}
		if other, dup := seen[f.Column]; dup {
			return "", fmt.Errorf("%s fields %s and %s both map column %q: give one of them another `db` tag, or `db:\"-\"`", t, other, f.Name, f.Column)
		}
		seen[f.Column] = f.Name
		m.Fields = append(m.Fields, f)
	}
	return table, nil
}

// options reads a field's tag options.
func (f *Field) options(t reflect.Type, opts string) error {
	if opts == "" {
		return nil
	}
	for o := range strings.SplitSeq(opts, ",") {
		switch strings.TrimSpace(o) {
		case "pk":
			f.PK = true
		case "default":
			f.Default = true
		case "readonly":
			f.ReadOnly = true
		case "version":
			f.Version = true
		default:
			return fmt.Errorf("%s field %s: unknown `db` tag option %q (known: pk, default, readonly, version)", t, f.Name, strings.TrimSpace(o))
		}
	}
	if f.ReadOnly && (f.PK || f.Version || f.Default) {
		return fmt.Errorf("%s field %s: readonly cannot be combined with pk, default or version", t, f.Name)
	}
	if f.Version {
		switch f.Type.Kind() {
		case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		default:
			return fmt.Errorf("%s field %s: a version field must be a signed integer, not %s", t, f.Name, f.Type)
		}
	}
	return nil
}

// addRef records a reference field; its columns are resolved once every
// field is known.
func (m *Type) addRef(sf reflect.StructField, base uintptr, prefix, tag string) error {
	if sf.Type.Kind() != reflect.Pointer || sf.Type.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%s field %s: a `ref` field must be a pointer to a mapped struct, not %s", m.Go, prefix+sf.Name, sf.Type)
	}
	if tag == "" {
		return fmt.Errorf("%s field %s: empty `ref` tag (write `ref:\"parent_id\"`: the column(s) the referenced key fills)", m.Go, prefix+sf.Name)
	}
	r := Ref{Name: prefix + sf.Name, Offset: base + sf.Offset, Target: sf.Type.Elem()}
	m.Refs = append(m.Refs, r)
	m.refCols = append(m.refCols, strings.Split(tag, ","))
	return nil
}

func (m *Type) resolveRefs() error {
	for i := range m.Refs {
		r := &m.Refs[i]
		for _, c := range m.refCols[i] {
			j := m.Field(strings.TrimSpace(c))
			if j < 0 {
				return fmt.Errorf("%s field %s: `ref` names column %q, which no field maps", m.Go, r.Name, strings.TrimSpace(c))
			}
			r.Columns = append(r.Columns, j)
		}
	}
	m.refCols = nil
	return nil
}

func (m *Type) table(t reflect.Type, zero any, tagTable string) {
	table := tagTable
	if tn, ok := zero.(interface{ TableName() string }); ok {
		table = tn.TableName()
	} else if table == "" {
		name, _, _ := strings.Cut(t.Name(), "[") // a generic type's arguments
		if name == "" {
			m.TableErr = fmt.Errorf("%s: %w", t, ErrNoTable)
			return
		}
		table = SnakeCase(name)
	}
	parts := strings.Split(table, ".")
	for _, part := range parts {
		if part == "" {
			m.TableErr = fmt.Errorf("%s: table name %q has an empty part", t, table)
			return
		}
	}
	m.Table, m.Ident = table, pgx.Identifier(parts)
	m.Quoted = m.Ident.Sanitize()
}

func (m *Type) keys(t reflect.Type, zero any) {
	if pk, ok := zero.(interface{ PrimaryKey() []string }); ok {
		for _, col := range pk.PrimaryKey() {
			j := m.Field(col)
			if j < 0 {
				m.KeyErr = fmt.Errorf("%s: PrimaryKey() names column %q, which no field maps", t, col)
				return
			}
			m.Keys = append(m.Keys, j)
			m.Fields[j].PK = true
		}
	} else {
		for i, f := range m.Fields {
			if f.PK {
				m.Keys = append(m.Keys, i)
			}
		}
	}
	if len(m.Keys) == 0 {
		m.KeyErr = fmt.Errorf("%s (table %s): %w", t, m.Table, ErrNoPrimaryKey)
	}
}

// SnakeCase turns a Go name into a column or table name: UserAccount ->
// user_account, UserID -> user_id, HTTPServer -> http_server. It only
// lowercases and inserts underscores, so a column it names matches the
// field back under pgx's rule (case and underscores ignored).
func SnakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

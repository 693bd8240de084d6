package session

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/streamcat/streamcat/buffered"
)

// ErrNoPrimaryKey is returned by Get and GetOne for a type whose primary key
// is not known: no field tagged `db:"column,pk"` and no PrimaryKey method.
var ErrNoPrimaryKey = errors.New("no primary key: tag the key field(s) `db:\"column,pk\"` or give the type a PrimaryKey() []string method")

// Get loads the row of T's table whose primary key is key (one value per
// key column, in key order) into a T, as the reference's Session.get. Not
// found: (zero, false, nil).
//
// T is a struct read as buffered.Structs reads it (pgx's `db` tags,
// embedded structs flattened, `db:"-"` skipped). Get selects exactly the
// struct's columns: a tagged field's column is its tag, an untagged one's
// is the snake_case of its name (UserID -> user_id).
//
// The table and its key columns come from, first, methods of T (value
// receiver):
//
//	func (User) TableName() string     // "users", or schema-qualified "app.users"
//	func (User) PrimaryKey() []string  // []string{"org_id", "id"}
//
// else from tags: `db:"id,pk"` marks a key column (several for a composite
// key, in field order, embedded fields included), and the table is the
// `table` tag of a blank field, or the snake_case of T's name
// (UserAccount -> "user_account"):
//
//	type User struct {
//		_    struct{} `table:"app.users"`
//		ID   int64    `db:"id,pk"`
//		Name string   `db:"name"`
//	}
//
// A dot in a table name separates schema and table; other names are used
// as they are, case and spaces included. Every identifier is quoted with
// pgx.Identifier.Sanitize and the key values are bound parameters, so
// neither names nor values can inject SQL. The statement is
//
//	select "id", "name" from "app"."users" where "id" = $1
//
// Cost: the plan (the SQL and the field list) is made on T's first use and
// cached for the process (TableName and PrimaryKey are called once, on a
// zero T, so they must return constants); then each call is one Execute,
// one round trip, and the scan of one row. There is no identity map: every
// call queries. The statement goes through s.Execute: inside a transaction
// it sees the transaction's writes; outside one it is a read the session's
// Router may send to a replica (use OnPrimary(ctx) to read your own
// committed writes at once).
//
// Errors: a plan error (T not a struct, no primary key, errors.Is
// ErrNoPrimaryKey), a wrong number of key values (the message names the key
// columns), the server's errors, a scan error, and buffered.ErrMultipleRows
// if the key columns are not unique after all. Get is as safe for concurrent
// use as s: not at all (ErrBusy); the plan cache is.
func Get[T any](ctx context.Context, s *Session, key ...any) (T, bool, error) {
	return get[T](ctx, s, "Get", key)
}

// GetOne is Get for a row that must exist, as the reference's get_one: not
// found is an error wrapping buffered.ErrNoRows ("no row was found when one
// was required") and naming the table and key columns. Cost and concurrency
// as Get.
func GetOne[T any](ctx context.Context, s *Session, key ...any) (T, error) {
	x, ok, err := get[T](ctx, s, "GetOne", key)
	if err == nil && !ok {
		p := planFor[T]()
		err = fmt.Errorf("session.GetOne[%s]: no row in %s with %s: %w", p.typ, p.table, p.keyList(), buffered.ErrNoRows)
	}
	return x, err
}

func get[T any](ctx context.Context, s *Session, op string, key []any) (T, bool, error) {
	var zero T
	p := planFor[T]()
	if p.err != nil {
		return zero, false, fmt.Errorf("session.%s[%s]: %w", op, p.typ, p.err)
	}
	if len(key) != len(p.keys) {
		return zero, false, fmt.Errorf("session.%s[%s]: %s has the primary key %s: want %d key value(s), in that order, got %d",
			op, p.typ, p.table, p.keyList(), len(p.keys), len(key))
	}
	res, err := s.Execute(ctx, p.sql, key...)
	if err != nil {
		return zero, false, fmt.Errorf("session.%s[%s]: %w", op, p.typ, err)
	}
	x, ok, err := buffered.Structs[T](res).OneOrNone()
	if err != nil {
		return zero, false, fmt.Errorf("session.%s[%s]: %w", op, p.typ, err)
	}
	return x, ok, nil
}

// getPlan is what Get needs for one type, made once.
type getPlan struct {
	typ   reflect.Type
	table string   // the quoted table name
	keys  []string // the key column names, unquoted
	sql   string
	err   error // the type cannot be read by key
}

// keyList is the key columns for messages: (org_id, id).
func (p *getPlan) keyList() string { return "(" + strings.Join(p.keys, ", ") + ")" }

var getPlans sync.Map // reflect.Type -> *getPlan

func planFor[T any]() *getPlan {
	t := reflect.TypeFor[T]()
	if p, ok := getPlans.Load(t); ok {
		return p.(*getPlan)
	}
	var zero T
	p := makeGetPlan(t, &zero)
	actual, _ := getPlans.LoadOrStore(t, p)
	return actual.(*getPlan)
}

// makeGetPlan plans Get for t; ptr points to a zero t, for its methods.
func makeGetPlan(t reflect.Type, ptr any) *getPlan {
	p := &getPlan{typ: t}
	if t.Kind() != reflect.Struct {
		p.err = errors.New("not a struct")
		return p
	}
	fields, tagTable, err := getFields(t)
	if err != nil {
		p.err = err
		return p
	}

	table := tagTable
	if m, ok := ptr.(interface{ TableName() string }); ok {
		table = m.TableName()
	} else if table == "" {
		name, _, _ := strings.Cut(t.Name(), "[") // a generic type's arguments
		if name == "" {
			p.err = errors.New("an unnamed type has no name to take a table name from: add a blank field _ struct{} with a `table:\"name\"` tag, or a TableName() string method")
			return p
		}
		table = snakeCase(name)
	}
	ident, err := tableIdentifier(table)
	if err != nil {
		p.err = err
		return p
	}
	p.table = ident.Sanitize()

	if m, ok := ptr.(interface{ PrimaryKey() []string }); ok {
		p.keys = append([]string(nil), m.PrimaryKey()...)
		for _, k := range p.keys {
			if k == "" {
				p.err = errors.New("PrimaryKey() returned an empty column name")
				return p
			}
		}
	} else {
		for _, f := range fields {
			if f.pk {
				p.keys = append(p.keys, f.column)
			}
		}
	}
	if len(p.keys) == 0 {
		p.err = fmt.Errorf("table %s: %w", p.table, ErrNoPrimaryKey)
		return p
	}

	var b strings.Builder
	b.WriteString("select ")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{f.column}.Sanitize())
	}
	b.WriteString(" from ")
	b.WriteString(p.table)
	b.WriteString(" where ")
	for i, k := range p.keys {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(pgx.Identifier{k}.Sanitize())
		b.WriteString(" = $")
		b.WriteString(strconv.Itoa(i + 1))
	}
	p.sql = b.String()
	return p
}

// getField is one selected column.
type getField struct {
	column string
	pk     bool
}

// getFields walks t's fields as buffered.Structs does and returns their
// columns, plus the table named by a top-level `table` tag.
func getFields(t reflect.Type) (fields []getField, table string, err error) {
	seen := map[string]string{} // column -> field, to refuse duplicates
	var walk func(t reflect.Type, prefix string, top bool) error
	walk = func(t reflect.Type, prefix string, top bool) error {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if tt, ok := sf.Tag.Lookup("table"); ok && top {
				if table != "" {
					return errors.New("more than one `table` tag")
				}
				if tt == "" {
					return fmt.Errorf("field %s has an empty `table` tag", sf.Name)
				}
				table = tt
			}
			if sf.PkgPath != "" && !sf.Anonymous {
				continue // unexported (and the blank table field)
			}
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				if err := walk(sf.Type, prefix+sf.Name+".", false); err != nil {
					return err
				}
				continue
			}
			tag, tagged := sf.Tag.Lookup("db")
			var opts string
			if tagged {
				tag, opts, _ = strings.Cut(tag, ",")
			}
			if tag == "-" {
				continue
			}
			column := tag
			if !tagged {
				column = snakeCase(sf.Name)
			} else if column == "" {
				return fmt.Errorf("field %s%s has a `db` tag without a column name (write `db:\"column,pk\"`)", prefix, sf.Name)
			}
			if other, dup := seen[column]; dup {
				return fmt.Errorf("fields %s and %s%s both read column %q", other, prefix, sf.Name, column)
			}
			seen[column] = prefix + sf.Name
			pk := false
			for o := range strings.SplitSeq(opts, ",") {
				pk = pk || strings.TrimSpace(o) == "pk"
			}
			fields = append(fields, getField{column: column, pk: pk})
		}
		return nil
	}
	if err := walk(t, "", true); err != nil {
		return nil, "", err
	}
	if len(fields) == 0 {
		return nil, "", errors.New("no field to read a column into")
	}
	return fields, table, nil
}

// tableIdentifier splits a table name at its dots: "app.users" ->
// {"app", "users"}.
func tableIdentifier(name string) (pgx.Identifier, error) {
	parts := strings.Split(name, ".")
	for _, part := range parts {
		if part == "" {
			return nil, fmt.Errorf("table name %q has an empty part", name)
		}
	}
	return pgx.Identifier(parts), nil
}

// snakeCase turns a Go name into a column or table name: UserAccount ->
// user_account, UserID -> user_id, HTTPServer -> http_server. It only
// lowercases and inserts underscores, so buffered.Structs (which ignores
// case and underscores for untagged fields) matches the column it names
// back to the field.
func snakeCase(s string) string {
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

package session

import (
	"context"
	"fmt"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/mapping"
)

// ErrNoPrimaryKey is returned by Get, GetOne and the unit of work for a
// type whose primary key is not known: no field tagged `db:"column,pk"` and
// no PrimaryKey method.
var ErrNoPrimaryKey = mapping.ErrNoPrimaryKey

// Get returns the object of type T whose primary key is key (one value per
// key column, in key order), as the reference's Session.get: from the
// session's identity map when it holds it (no SQL; an expired object is
// reloaded), else loaded with one query and then held by the map, so a
// second Get returns the same pointer. Not found, or marked for deletion:
// (nil, nil). A Get that queries flushes pending changes first (autoflush).
//
// T is mapped by the shared rules of the unit of work (see the package doc,
// "Mapping structs"): `db` tags, snake_case columns for untagged fields,
// embedded structs flattened, `db:"-"` skipped. The table and its key come
// from TableName()/PrimaryKey() methods of T, or from a blank field's
// `table` tag and `db:"id,pk"` tags:
//
//	type User struct {
//		_    struct{} `table:"app.users"`
//		ID   int64    `db:"id,pk"`
//		Name string   `db:"name"`
//	}
//
// Every identifier is quoted with pgx.Identifier.Sanitize and the key
// values are bound parameters, so neither names nor values can inject SQL.
// The statement is
//
//	select "id", "name" from "app"."users" where "id" = $1
//
// Outside a transaction it is a read the session's Router may send to a
// replica (use OnPrimary(ctx) to read your own committed writes at once).
//
// Errors: ErrNotMapped wrapping why (T not a struct, no primary key:
// errors.Is ErrNoPrimaryKey), a wrong number of key values (the message
// names the key columns), the server's errors, a scan error, and
// buffered.ErrMultipleRows if the key columns are not unique after all.
func Get[T any](ctx context.Context, s *Session, key ...any) (*T, error) {
	return get[T](ctx, s, "Get", key)
}

// GetOne is Get for a row that must exist, as the reference's get_one: not
// found is an error wrapping buffered.ErrNoRows ("no row was found when one
// was required") and naming the table and key columns.
func GetOne[T any](ctx context.Context, s *Session, key ...any) (*T, error) {
	x, err := get[T](ctx, s, "GetOne", key)
	if err == nil && x == nil {
		m := mapping.Of[T]()
		err = fmt.Errorf("session: GetOne[%s]: no row in %s with %s = %v: %w", m.Go, m.Quoted, m.KeyColumns(), key, buffered.ErrNoRows)
	}
	return x, err
}

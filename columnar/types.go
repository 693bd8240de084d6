package columnar

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier runs a query: *pgx.Conn, *pgxpool.Pool, pgx.Tx and
// *pgxpool.Conn all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Types describes the types of a result that are not built in: enums,
// composite types (their attributes), domains (their base type), arrays of
// those, and other base types (written as text). Get it from LoadTypes, or
// make an empty one with NewTypes and fill it with Load. Writers only read
// it, in Begin.
type Types struct {
	m map[uint32]typeDesc
}

type typeDesc struct {
	name   string
	kind   byte   // pg_type.typtype: 'b' base, 'e' enum, 'c' composite, 'd' domain, 'r'/'m' range; 'a' for an array
	elem   uint32 // array element or domain base
	typmod int32  // a domain's base typmod
	attrs  []attribute
}

type attribute struct {
	name   string
	oid    uint32
	typmod int32
}

// NewTypes returns an empty Types: built-in types only.
func NewTypes() *Types { return &Types{m: make(map[uint32]typeDesc)} }

// typeQuery describes the types in $1 and, for composites, their
// attributes (one row per attribute; NULL attribute for other types).
const typeQuery = `
select t.oid, t.typname::text, t.typtype::text, t.typelem, t.typbasetype, t.typtypmod,
       t.typelem <> 0 and t.typlen = -1, a.attname::text, a.atttypid, a.atttypmod
from pg_catalog.pg_type t
left join pg_catalog.pg_attribute a
       on t.typtype = 'c' and a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
where t.oid = any($1::pg_catalog.oid[])
order by t.oid, a.attnum`

// LoadTypes asks the server about the types of fields that are not built
// in, and about the types those refer to. It costs one round trip per level
// of nesting (none when every column is built in). q must not be busy with
// another result: pass the pool, or call it before running the query (with
// the fields of a Prepare).
func LoadTypes(ctx context.Context, q Querier, fields []pgconn.FieldDescription) (*Types, error) {
	t := NewTypes()
	if err := t.Load(ctx, q, fields); err != nil {
		return nil, err
	}
	return t, nil
}

// Load adds to t what LoadTypes would load for fields, at the same cost;
// types t knows are not asked for again.
func (t *Types) Load(ctx context.Context, q Querier, fields []pgconn.FieldDescription) error {
	if t.m == nil {
		t.m = make(map[uint32]typeDesc)
	}
	var pending []uint32
	want := func(oid uint32) {
		if elem, ok := builtinArrayElem(oid); ok {
			oid = elem
		}
		if _, ok := t.m[oid]; ok || isBuiltinScalar(oid) {
			return
		}
		for _, p := range pending {
			if p == oid {
				return
			}
		}
		pending = append(pending, oid)
	}
	for _, f := range fields {
		want(f.DataTypeOID)
	}
	for len(pending) > 0 {
		batch := pending
		pending = nil
		if err := t.load(ctx, q, batch); err != nil {
			return err
		}
		for _, oid := range batch {
			d, ok := t.m[oid]
			if !ok {
				t.m[oid] = typeDesc{name: fmt.Sprintf("oid %d", oid), kind: 'b'} // dropped meanwhile: text
				continue
			}
			switch d.kind {
			case 'a', 'd':
				want(d.elem)
			case 'c':
				for _, a := range d.attrs {
					want(a.oid)
				}
			}
		}
	}
	return nil
}

func (t *Types) load(ctx context.Context, q Querier, oids []uint32) error {
	rows, err := q.Query(ctx, typeQuery, oids)
	if err != nil {
		return fmt.Errorf("columnar: loading type information: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid, elem, base uint32
			typmod          int32
			name, typtype   string
			isArray         bool
			attName         *string
			attType         *uint32
			attMod          *int32
		)
		if err := rows.Scan(&oid, &name, &typtype, &elem, &base, &typmod, &isArray, &attName, &attType, &attMod); err != nil {
			return fmt.Errorf("columnar: loading type information: %w", err)
		}
		d := t.m[oid]
		d.name, d.kind = name, typtype[0]
		switch {
		case d.kind == 'd':
			d.elem, d.typmod = base, typmod
		case d.kind == 'c':
			if attName != nil && attType != nil && attMod != nil {
				d.attrs = append(d.attrs, attribute{name: *attName, oid: *attType, typmod: *attMod})
			}
		case isArray:
			d.kind, d.elem = 'a', elem
		}
		t.m[oid] = d
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("columnar: loading type information: %w", err)
	}
	return nil
}

// lookup finds oid; t may be nil.
func (t *Types) lookup(oid uint32) (typeDesc, bool) {
	if t == nil {
		return typeDesc{}, false
	}
	d, ok := t.m[oid]
	return d, ok
}

package encode

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

// typeQuery describes the types in $1 and the attributes of the composite
// ones, one row per attribute (a row with NULL attribute for the others).
// The OIDs are a bound parameter.
const typeQuery = `
select t.oid, t.typtype::text, t.typelem, coalesce(e.typdelim, ',')::text,
       t.typbasetype, t.typelem <> 0 and t.typlen = -1, a.attname::text, a.atttypid
from pg_catalog.pg_type t
left join pg_catalog.pg_type e on e.oid = t.typelem
left join pg_catalog.pg_attribute a
       on t.typtype = 'c' and a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
where t.oid = any($1::pg_catalog.oid[])
order by t.oid, a.attnum`

// LoadTypeInfo asks the server about the types of fields that are not built
// in, and about the types those refer to (array elements, attributes,
// domain bases). It costs one round trip per level of type nesting (one or
// two for most results) and none when every column is of a built-in type.
// The OIDs are sent as a bound parameter. q must not be busy with another
// result: with pgx, pass the pool, or call it before running the query.
func LoadTypeInfo(ctx context.Context, q Querier, fields []pgconn.FieldDescription) (*TypeInfo, error) {
	ti := NewTypeInfo()
	if err := ti.Load(ctx, q, fields); err != nil {
		return nil, err
	}
	return ti, nil
}

// Load adds to ti what LoadTypeInfo would load for fields, at the same
// cost; types ti knows already are not asked for again. It lets a caller
// create an encoder with Options.Types before it knows the result's
// columns (an encoder looks the types up in Begin). On error ti keeps what
// it had loaded until then.
func (ti *TypeInfo) Load(ctx context.Context, q Querier, fields []pgconn.FieldDescription) error {
	ti.init()
	var pending []uint32
	want := func(oid uint32) {
		if elem, ok := builtinArrays[oid]; ok {
			oid = elem // the element of a built-in array may be a catalog row type
		}
		if !ti.known(oid) && !contains(pending, oid) {
			pending = append(pending, oid)
		}
	}
	for _, f := range fields {
		want(f.DataTypeOID)
	}
	for len(pending) > 0 {
		batch := pending
		pending = nil
		if err := ti.load(ctx, q, batch); err != nil {
			return err
		}
		for _, oid := range batch {
			d, ok := ti.types[oid]
			if !ok {
				// Not in pg_type (dropped meanwhile): written as a string.
				ti.types[oid] = typeDesc{kind: kindString}
				continue
			}
			switch d.kind {
			case kindArray, kindDomain:
				want(d.elem)
			case kindComposite:
				for _, a := range d.attrs {
					want(a.Type)
				}
			}
		}
	}
	return nil
}

// load reads the descriptions of oids into ti.
func (ti *TypeInfo) load(ctx context.Context, q Querier, oids []uint32) error {
	rows, err := q.Query(ctx, typeQuery, oids)
	if err != nil {
		return fmt.Errorf("encode: loading type information: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid, elem, base uint32
			typtype, delim  string
			isArray         bool
			attName         *string
			attType         *uint32
		)
		if err := rows.Scan(&oid, &typtype, &elem, &delim, &base, &isArray, &attName, &attType); err != nil {
			return fmt.Errorf("encode: loading type information: %w", err)
		}
		d := ti.types[oid]
		switch {
		case typtype == "d":
			d = typeDesc{kind: kindDomain, elem: base}
		case typtype == "c":
			d.kind = kindComposite
			if attName != nil && attType != nil {
				d.attrs = append(d.attrs, Attribute{Name: *attName, Type: *attType})
			}
		case isArray:
			d = typeDesc{kind: kindArray, elem: elem, delim: ','}
			if len(delim) == 1 {
				d.delim = delim[0]
			}
		default:
			d = typeDesc{kind: kindString}
		}
		ti.types[oid] = d
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("encode: loading type information: %w", err)
	}
	return nil
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

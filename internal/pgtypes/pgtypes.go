// Package pgtypes reads from pg_catalog what the writers of result rows
// (package encode's text encoders, package columnar's Parquet and Arrow
// writers) need to know about types that are not built in: enums,
// composites and their attributes, domains and their base types, arrays
// and their elements. Both load the same way, so they load through here.
package pgtypes

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Querier runs a query: *pgx.Conn, *pgxpool.Pool, pgx.Tx and
// *pgxpool.Conn all satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Type is one pg_type row.
type Type struct {
	OID  uint32
	Name string
	// Kind is pg_type.typtype ('b' base, 'e' enum, 'c' composite, 'd'
	// domain, 'r'/'m' range, 'p' pseudo), or 'a' for an array (a varlena
	// type with an element type), or 0 for an OID pg_type no longer has
	// (the type was dropped meanwhile).
	Kind   byte
	Elem   uint32 // an array's element type, a domain's base type
	Typmod int32  // a domain's base type modifier
	Delim  byte   // an array's element delimiter
	Attrs  []Attr // a composite's attributes, in order
}

// Attr is one attribute (column) of a composite type.
type Attr struct {
	Name   string
	OID    uint32
	Typmod int32
}

// query describes the types in $1 and, for composites, their attributes
// (one row per attribute; a NULL attribute for other types). The OIDs are
// a bound parameter.
const query = `
select t.oid, t.typname::text, t.typtype::text, t.typelem, coalesce(e.typdelim, ',')::text,
       t.typbasetype, t.typtypmod, t.typelem <> 0 and t.typlen = -1,
       a.attname::text, a.atttypid, a.atttypmod
from pg_catalog.pg_type t
left join pg_catalog.pg_type e on e.oid = t.typelem
left join pg_catalog.pg_attribute a
       on t.typtype = 'c' and a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
where t.oid = any($1::pg_catalog.oid[])
order by t.oid, a.attnum`

// Load describes the types oids and every type they refer to (array
// elements, domain bases, attributes), one round trip per level of
// nesting. want maps an OID to the one to ask for (a built-in array's
// element, say) and reports whether to ask at all (not for built-in types,
// nor for types the caller knows); each type read, or missing from
// pg_type (Kind 0), goes to add once.
func Load(ctx context.Context, q Querier, oids []uint32, want func(oid uint32) (uint32, bool), add func(Type)) error {
	var pending []uint32
	ask := func(oid uint32) {
		if oid, ok := want(oid); ok && !slices.Contains(pending, oid) {
			pending = append(pending, oid)
		}
	}
	for _, oid := range oids {
		ask(oid)
	}
	for len(pending) > 0 {
		batch := pending
		pending = nil
		types, err := read(ctx, q, batch)
		if err != nil {
			return err
		}
		for _, oid := range batch {
			if t := types[oid]; t != nil {
				add(*t)
			} else {
				add(Type{OID: oid})
			}
		}
		for _, oid := range batch {
			t := types[oid]
			if t == nil {
				continue
			}
			switch t.Kind {
			case 'a', 'd':
				ask(t.Elem)
			case 'c':
				for _, a := range t.Attrs {
					ask(a.OID)
				}
			}
		}
	}
	return nil
}

// read describes oids.
func read(ctx context.Context, q Querier, oids []uint32) (map[uint32]*Type, error) {
	rows, err := q.Query(ctx, query, oids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[uint32]*Type, len(oids))
	for rows.Next() {
		var (
			oid, elem, base uint32
			typmod          int32
			name, typtype   string
			delim           string
			isArray         bool
			attName         *string
			attType         *uint32
			attMod          *int32
		)
		if err := rows.Scan(&oid, &name, &typtype, &elem, &delim, &base, &typmod, &isArray, &attName, &attType, &attMod); err != nil {
			return nil, err
		}
		t := out[oid]
		if t == nil {
			t = &Type{OID: oid, Name: name, Kind: typtype[0]}
			out[oid] = t
			switch {
			case t.Kind == 'd':
				t.Elem, t.Typmod = base, typmod
			case t.Kind == 'c':
			case isArray:
				t.Kind, t.Elem, t.Delim = 'a', elem, ','
				if len(delim) == 1 {
					t.Delim = delim[0]
				}
			}
		}
		if t.Kind == 'c' && attName != nil && attType != nil && attMod != nil {
			t.Attrs = append(t.Attrs, Attr{Name: *attName, OID: *attType, Typmod: *attMod})
		}
	}
	return out, rows.Err()
}

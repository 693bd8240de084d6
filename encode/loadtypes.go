package encode

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/internal/pgtypes"
)

// Querier runs a query: *pgx.Conn, *pgxpool.Pool, pgx.Tx and
// *pgxpool.Conn all satisfy it.
type Querier = pgtypes.Querier

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
	oids := make([]uint32, len(fields))
	for i, f := range fields {
		oids[i] = f.DataTypeOID
	}
	want := func(oid uint32) (uint32, bool) {
		if elem, ok := builtinArrays[oid]; ok {
			oid = elem // the element of a built-in array may be a catalog row type
		}
		return oid, !ti.known(oid)
	}
	err := pgtypes.Load(ctx, q, oids, want, func(t pgtypes.Type) {
		switch t.Kind {
		case 'd':
			ti.types[t.OID] = typeDesc{kind: kindDomain, elem: t.Elem}
		case 'c':
			attrs := make([]Attribute, len(t.Attrs))
			for i, a := range t.Attrs {
				attrs[i] = Attribute{Name: a.Name, Type: a.OID}
			}
			ti.types[t.OID] = typeDesc{kind: kindComposite, attrs: attrs}
		case 'a':
			ti.types[t.OID] = typeDesc{kind: kindArray, elem: t.Elem, delim: t.Delim}
		default: // enums, other base types, and a type dropped meanwhile: text
			ti.types[t.OID] = typeDesc{kind: kindString}
		}
	})
	if err != nil {
		return fmt.Errorf("encode: loading type information: %w", err)
	}
	return nil
}

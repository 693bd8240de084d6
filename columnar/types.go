package columnar

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/internal/pgtypes"
)

// Querier runs a query: *pgx.Conn, *pgxpool.Pool, pgx.Tx and
// *pgxpool.Conn all satisfy it.
type Querier = pgtypes.Querier

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
	oids := make([]uint32, len(fields))
	for i, f := range fields {
		oids[i] = f.DataTypeOID
	}
	want := func(oid uint32) (uint32, bool) {
		if elem, ok := builtinArrayElem(oid); ok {
			oid = elem
		}
		_, known := t.m[oid]
		return oid, !known && !isBuiltinScalar(oid)
	}
	err := pgtypes.Load(ctx, q, oids, want, func(pt pgtypes.Type) {
		d := typeDesc{name: pt.Name, kind: pt.Kind, elem: pt.Elem, typmod: pt.Typmod}
		if pt.Kind == 0 { // dropped meanwhile: written as text
			d = typeDesc{name: fmt.Sprintf("oid %d", pt.OID), kind: 'b'}
		}
		for _, a := range pt.Attrs {
			d.attrs = append(d.attrs, attribute{name: a.Name, oid: a.OID, typmod: a.Typmod})
		}
		t.m[pt.OID] = d
	})
	if err != nil {
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

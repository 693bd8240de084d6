package columnar

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"
)

// appender adds one wire value (nil is SQL NULL) to the builder it was
// bound to.
type appender func(v []byte) error

// mapping is how one PostgreSQL type in one wire format is written: its
// Arrow type, and how to make an appender for a builder of that type.
type mapping struct {
	typ  arrow.DataType
	bind func(b array.Builder) appender
}

// planner maps PostgreSQL types to Arrow types.
type planner struct {
	types   *Types
	numeric NumericMode
	m       *pgtype.Map // parses text-format dates and times; one per Writer (a Map is not safe for concurrent use)
}

// firstUserOID is FirstNormalObjectId: OIDs below it are built in.
const firstUserOID = 16384

var builtinMap = pgtype.NewMap()

// builtinArrayElem returns the element type of a built-in array type.
func builtinArrayElem(oid uint32) (uint32, bool) {
	t, ok := builtinMap.TypeForOID(oid)
	if !ok {
		return 0, false
	}
	ac, ok := t.Codec.(*pgtype.ArrayCodec)
	if !ok {
		return 0, false
	}
	return ac.ElementType.OID, true
}

// isBuiltinScalar reports a built-in type that is not an array.
func isBuiltinScalar(oid uint32) bool {
	_, arr := builtinArrayElem(oid)
	return oid < firstUserOID && !arr
}

// errNoBinary is a type that only maps through its text form, met in
// binary format.
type errNoBinary struct{ name string }

func (e errNoBinary) Error() string {
	return fmt.Sprintf("type %s has no columnar mapping in binary format: ask for the column in text format (columnar.ResultFormats does) or cast it to text", e.name)
}

// plan maps type oid with modifier typmod, sent in format (nested values,
// array elements and attributes, are binary when their container is).
// nested is set inside arrays and composites.
func (p *planner) plan(oid uint32, typmod int32, format int16, nested bool) (mapping, error) {
	if m, ok := p.scalar(oid, typmod, format); ok {
		return m, nil
	}
	if elem, ok := builtinArrayElem(oid); ok {
		return p.array(elem, typmod, format) // an array column's modifier is its elements'
	}
	d, known := p.types.lookup(oid)
	switch {
	case known && d.kind == 'd':
		return p.plan(d.elem, d.typmod, format, nested)
	case known && d.kind == 'e':
		return enumMapping(nested), nil
	case known && d.kind == 'a':
		if format != binary {
			return textMapping(), nil
		}
		return p.array(d.elem, typmod, format)
	case known && d.kind == 'c':
		if format != binary {
			return textMapping(), nil
		}
		return p.composite(d)
	}
	if format == binary {
		name := d.name
		if !known {
			if t, ok := builtinMap.TypeForOID(oid); ok {
				name = t.Name
			} else if oid < firstUserOID {
				name = fmt.Sprintf("oid %d", oid)
			} else {
				return mapping{}, fmt.Errorf("type OID %d is not built in: pass Options.Types from LoadTypes, or ask for the column in text format", oid)
			}
		}
		return mapping{}, errNoBinary{name}
	}
	return textMapping(), nil
}

const (
	text   = 0 // pgx.TextFormatCode
	binary = 1 // pgx.BinaryFormatCode
)

// array maps a one-dimensional array of elem as a LIST. Only the binary
// format is read element by element.
func (p *planner) array(elem uint32, typmod int32, format int16) (mapping, error) {
	if format != binary {
		return textMapping(), nil
	}
	em, err := p.plan(elem, typmod, binary, true)
	if err != nil {
		return mapping{}, err
	}
	return listMapping(em), nil
}

// composite maps a composite type as a STRUCT of its attributes.
func (p *planner) composite(d typeDesc) (mapping, error) {
	if len(d.attrs) == 0 {
		return mapping{}, fmt.Errorf("composite type %s has no attributes; Parquet cannot hold an empty STRUCT (cast it to text)", d.name)
	}
	ms := make([]mapping, len(d.attrs))
	fields := make([]arrow.Field, len(d.attrs))
	for i, a := range d.attrs {
		m, err := p.plan(a.oid, a.typmod, binary, true)
		if err != nil {
			return mapping{}, fmt.Errorf("attribute %q of %s: %w", a.name, d.name, err)
		}
		ms[i] = m
		fields[i] = arrow.Field{Name: a.name, Type: m.typ, Nullable: true}
	}
	return structMapping(d.name, fields, ms), nil
}

package columnar

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// listMapping writes a one-dimensional array in binary format as a LIST of
// its elements (an empty array as an empty list). The binary form is: the
// number of dimensions, a has-nulls flag, the element OID, then per
// dimension its length and lower bound, then each element as a length
// (-1 for NULL) and its bytes.
func listMapping(elem mapping) mapping {
	return mapping{typ: arrow.ListOf(elem.typ), bind: func(b array.Builder) appender {
		lb := b.(*array.ListBuilder)
		add := elem.bind(lb.ValueBuilder())
		return func(v []byte) error {
			if v == nil {
				lb.AppendNull()
				return nil
			}
			if len(v) < 12 {
				return badValue("array of %d bytes", len(v))
			}
			switch ndim := int32(be.Uint32(v)); {
			case ndim == 0:
				lb.Append(true)
				return nil
			case ndim != 1:
				return ErrMultiDim
			case len(v) < 20:
				return badValue("array of %d bytes", len(v))
			}
			n, p := int32(be.Uint32(v[12:])), v[20:]
			lb.Append(true)
			for range n {
				if len(p) < 4 {
					return badValue("array element past the end")
				}
				l := int32(be.Uint32(p))
				p = p[4:]
				var e []byte
				if l >= 0 {
					if int(l) > len(p) {
						return badValue("array element past the end")
					}
					e, p = p[:l:l], p[l:]
				}
				if err := add(e); err != nil {
					return err
				}
			}
			return nil
		}
	}}
}

// structMapping writes a composite value in binary format as a STRUCT: the
// binary form is the number of attributes, then each as its type OID, a
// length (-1 for NULL) and its bytes.
func structMapping(name string, fields []arrow.Field, ms []mapping) mapping {
	return mapping{typ: arrow.StructOf(fields...), bind: func(b array.Builder) appender {
		sb := b.(*array.StructBuilder)
		adds := make([]appender, len(ms))
		for i, m := range ms {
			adds[i] = m.bind(sb.FieldBuilder(i))
		}
		return func(v []byte) error {
			if v == nil {
				sb.AppendNull()
				return nil
			}
			if len(v) < 4 {
				return badValue("%s of %d bytes", name, len(v))
			}
			if n := int(be.Uint32(v)); n != len(adds) {
				return badValue("%s with %d attributes, want %d (was the type altered meanwhile?)", name, n, len(adds))
			}
			sb.Append(true)
			p := v[4:]
			for _, add := range adds {
				if len(p) < 8 {
					return badValue("%s attribute past the end", name)
				}
				l := int32(be.Uint32(p[4:]))
				p = p[8:]
				var e []byte
				if l >= 0 {
					if int(l) > len(p) {
						return badValue("%s attribute past the end", name)
					}
					e, p = p[:l:l], p[l:]
				}
				if err := add(e); err != nil {
					return err
				}
			}
			return nil
		}
	}}
}

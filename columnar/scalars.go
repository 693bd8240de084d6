package columnar

import (
	endian "encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/jackc/pgx/v5/pgtype"
)

var be = endian.BigEndian

// str views v as a string without copying, for the strconv parsers (which
// do not keep it).
func str(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	return unsafe.String(&v[0], len(v))
}

// scalar maps the built-in scalar types that have an Arrow counterpart.
func (p *planner) scalar(oid uint32, typmod int32, format int16) (mapping, bool) {
	switch oid {
	case pgtype.BoolOID:
		return boolMapping(), true
	case pgtype.Int2OID:
		return intMapping[int16](arrow.PrimitiveTypes.Int16, format), true
	case pgtype.Int4OID:
		return intMapping[int32](arrow.PrimitiveTypes.Int32, format), true
	case pgtype.Int8OID:
		return intMapping[int64](arrow.PrimitiveTypes.Int64, format), true
	case pgtype.OIDOID:
		return intMapping[uint32](arrow.PrimitiveTypes.Uint32, format), true
	case pgtype.Float4OID:
		return floatMapping[float32](arrow.PrimitiveTypes.Float32, format), true
	case pgtype.Float8OID:
		return floatMapping[float64](arrow.PrimitiveTypes.Float64, format), true
	case pgtype.NumericOID:
		return p.numericMapping(typmod, format), true
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.QCharOID, pgtype.UnknownOID:
		return textMapping(), true // the binary form of these is their text
	case pgtype.ByteaOID:
		return byteaMapping(format), true
	case pgtype.UUIDOID:
		return uuidMapping(format), true
	case pgtype.JSONOID:
		return jsonMapping(false), true
	case pgtype.JSONBOID:
		return jsonMapping(format == binary), true
	case pgtype.DateOID:
		return p.dateMapping(format), true
	case pgtype.TimeOID:
		return p.timeMapping(format), true
	case pgtype.TimestampOID:
		return p.timestampMapping(oid, "", format), true
	case pgtype.TimestamptzOID:
		return p.timestampMapping(oid, "UTC", format), true
	case pgtype.IntervalOID:
		return p.intervalMapping(format), true
	}
	return mapping{}, false
}

func boolMapping() mapping {
	return mapping{typ: arrow.FixedWidthTypes.Boolean, bind: func(b array.Builder) appender {
		bb := b.(*array.BooleanBuilder)
		return func(v []byte) error {
			switch {
			case v == nil:
				bb.AppendNull()
			case len(v) == 1 && (v[0] == 1 || v[0] == 't'):
				bb.Append(true)
			case len(v) == 1 && (v[0] == 0 || v[0] == 'f'):
				bb.Append(false)
			default:
				return badValue("bool of %d bytes", len(v))
			}
			return nil
		}
	}}
}

type integer interface{ int16 | int32 | int64 | uint32 }

// numBuilder is the typed Arrow builder of T.
type numBuilder[T any] interface {
	Append(T)
	AppendNull()
}

func intMapping[T integer](typ arrow.DataType, format int16) mapping {
	var zero T
	size := int(unsafe.Sizeof(zero))
	signed := ^zero < 0
	return mapping{typ: typ, bind: func(b array.Builder) appender {
		nb := b.(numBuilder[T])
		return func(v []byte) error {
			if v == nil {
				nb.AppendNull()
				return nil
			}
			if format == binary {
				if len(v) != size {
					return badValue("%d-byte integer of %d bytes", size, len(v))
				}
				switch size {
				case 2:
					nb.Append(T(be.Uint16(v)))
				case 4:
					nb.Append(T(be.Uint32(v)))
				default:
					nb.Append(T(be.Uint64(v)))
				}
				return nil
			}
			var n int64
			var err error
			if signed {
				n, err = strconv.ParseInt(str(v), 10, size*8)
			} else {
				var u uint64
				u, err = strconv.ParseUint(str(v), 10, size*8)
				n = int64(u)
			}
			if err != nil {
				return badValue("integer %q", v)
			}
			nb.Append(T(n))
			return nil
		}
	}}
}

func floatMapping[T float32 | float64](typ arrow.DataType, format int16) mapping {
	var zero T
	size := int(unsafe.Sizeof(zero))
	return mapping{typ: typ, bind: func(b array.Builder) appender {
		nb := b.(numBuilder[T])
		return func(v []byte) error {
			if v == nil {
				nb.AppendNull()
				return nil
			}
			if format == binary {
				switch {
				case len(v) != size:
					return badValue("%d-byte float of %d bytes", size, len(v))
				case size == 4:
					nb.Append(T(math.Float32frombits(be.Uint32(v))))
				default:
					nb.Append(T(math.Float64frombits(be.Uint64(v))))
				}
				return nil
			}
			f, err := strconv.ParseFloat(str(v), size*8) // accepts NaN, Infinity, -Infinity
			if err != nil {
				return badValue("float %q", v)
			}
			nb.Append(T(f))
			return nil
		}
	}}
}

// textMapping writes the value's bytes as a UTF-8 string: text types in
// either format, and the text form of types without a mapping of their own.
func textMapping() mapping {
	return mapping{typ: arrow.BinaryTypes.String, bind: func(b array.Builder) appender {
		sb := b.(*array.StringBuilder)
		return func(v []byte) error {
			if v == nil {
				sb.AppendNull()
			} else {
				sb.BinaryBuilder.Append(v)
			}
			return nil
		}
	}}
}

func byteaMapping(format int16) mapping {
	return mapping{typ: arrow.BinaryTypes.Binary, bind: func(b array.Builder) appender {
		bb := b.(*array.BinaryBuilder)
		var buf []byte
		return func(v []byte) error {
			switch {
			case v == nil:
				bb.AppendNull()
			case format == binary:
				bb.Append(v)
			default:
				// text output is hex: \x0123...
				if len(v) < 2 || v[0] != '\\' || v[1] != 'x' {
					return badValue("bytea text %.20q is not in hex format (set bytea_output = hex)", v)
				}
				buf = buf[:0]
				buf = append(buf, make([]byte, (len(v)-2)/2)...)
				if _, err := hex.Decode(buf, v[2:]); err != nil {
					return badValue("bytea hex: %v", err)
				}
				bb.Append(buf)
			}
			return nil
		}
	}}
}

func uuidMapping(format int16) mapping {
	return mapping{typ: extensions.NewUUIDType(), bind: func(b array.Builder) appender {
		ub := b.(*extensions.UUIDBuilder)
		return func(v []byte) error {
			var u [16]byte
			switch {
			case v == nil:
				ub.AppendNull()
				return nil
			case format == binary:
				if len(v) != 16 {
					return badValue("uuid of %d bytes", len(v))
				}
				copy(u[:], v)
			default:
				if !parseUUID(&u, v) {
					return badValue("uuid %q", v)
				}
			}
			ub.AppendBytes(u)
			return nil
		}
	}}
}

// parseUUID reads the text form: 32 hex digits, optionally with hyphens
// (PostgreSQL's output has them at 8-4-4-4-12).
func parseUUID(u *[16]byte, v []byte) bool {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '-' {
			continue
		}
		if n == 32 || i+1 >= len(v) {
			return false
		}
		hi, ok1 := unhex(v[i])
		lo, ok2 := unhex(v[i+1])
		if !ok1 || !ok2 {
			return false
		}
		u[n/2] = hi<<4 | lo
		n += 2
		i++
	}
	return n == 32
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

var jsonType = func() arrow.DataType {
	t, err := extensions.NewJSONType(arrow.BinaryTypes.String)
	if err != nil {
		panic(err) // cannot happen: String is a valid storage type
	}
	return t
}()

// jsonMapping writes json and jsonb as the JSON logical type (a UTF-8
// string). jsonb's binary form is a version byte (1) and the text.
func jsonMapping(jsonbBinary bool) mapping {
	return mapping{typ: jsonType, bind: func(b array.Builder) appender {
		sb := storage(b).(*array.StringBuilder)
		return func(v []byte) error {
			switch {
			case v == nil:
				sb.AppendNull()
			case jsonbBinary:
				if len(v) == 0 || v[0] != 1 {
					return badValue("jsonb binary version %v", v[:min(len(v), 1)])
				}
				sb.BinaryBuilder.Append(v[1:])
			default:
				sb.BinaryBuilder.Append(v)
			}
			return nil
		}
	}}
}

// enumMapping writes enum labels (the same bytes in either format) as
// dictionary-encoded strings; inside an array or composite as plain
// strings, which Parquet dictionary-encodes by page anyway.
func enumMapping(nested bool) mapping {
	if nested {
		return textMapping()
	}
	typ := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	return mapping{typ: typ, bind: func(b array.Builder) appender {
		db := b.(*array.BinaryDictionaryBuilder)
		return func(v []byte) error {
			if v == nil {
				db.AppendNull()
				return nil
			}
			return db.Append(v)
		}
	}}
}

// storage is the builder of an extension type's storage.
func storage(b array.Builder) array.Builder {
	if eb, ok := b.(interface{ StorageBuilder() array.Builder }); ok {
		return eb.StorageBuilder()
	}
	return b
}

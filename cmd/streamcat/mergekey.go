package main

import (
	"bytes"
	"cmp"
	endian "encoding/binary"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// keyCompare returns the order of rows by the --merge-by column: "COLUMN"
// ascending, or "COLUMN DESC". It compares as PostgreSQL orders the
// column's type for integers, floating point, numeric, date, timestamp and
// timestamptz; text-like types (text, varchar, char, name, uuid, bytea)
// compare byte by byte, which is the server's order only under the "C"
// collation: ORDER BY col COLLATE "C" on every server. NULLs come last
// (first with DESC), as in ORDER BY. An input out of this order makes the
// merge fail rather than write rows out of order.
func keyCompare(fields []pgconn.FieldDescription, spec string) (func(a, b [][]byte) int, error) {
	name, desc := strings.TrimSpace(spec), false
	if f := strings.Fields(name); len(f) == 2 && strings.EqualFold(f[1], "desc") {
		name, desc = f[0], true
	} else if len(f) == 2 && strings.EqualFold(f[1], "asc") {
		name = f[0]
	}
	col := -1
	for i, f := range fields {
		if f.Name == name {
			if col >= 0 {
				return nil, usagef("--merge-by %s: the result has two columns of that name; alias one", name)
			}
			col = i
		}
	}
	if col < 0 {
		names := make([]string, len(fields))
		for i, f := range fields {
			names[i] = f.Name
		}
		return nil, usagef("--merge-by %s: no such column in the result (columns: %s)", name, strings.Join(names, ", "))
	}
	f := fields[col]
	value, err := keyValue(f)
	if err != nil {
		return nil, err
	}
	order := func(a, b [][]byte) int {
		x, y := a[col], b[col]
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		return value(x, y)
	}
	if desc {
		return func(a, b [][]byte) int { return -order(a, b) }, nil
	}
	return order, nil
}

// keyValue returns the comparison of two non-NULL values of f's type.
func keyValue(f pgconn.FieldDescription) (func(x, y []byte) int, error) {
	m := pgtype.NewMap()
	oid, format := f.DataTypeOID, f.Format
	scan := func(src []byte, dst any) {
		// the server sent a value of this type: it decodes; should it not,
		// the zero value sorts it first and the merge's order check reports
		// the input as out of order rather than writing wrong output
		_ = m.Scan(oid, format, src, dst)
	}
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		// read in place: the merge compares every row with the heads of
		// the other inputs, and a scan through the type map allocates
		// its target
		return func(x, y []byte) int { return cmp.Compare(intKey(x, format), intKey(y, format)) }, nil
	case pgtype.Float4OID, pgtype.Float8OID:
		return func(x, y []byte) int { // cmp.Compare puts NaN first; PostgreSQL last
			a, b := floatKey(x, format, oid), floatKey(y, format, oid)
			if an, bn := a != a, b != b; an || bn {
				return cmp.Compare(boolInt(an), boolInt(bn))
			}
			return cmp.Compare(a, b)
		}, nil
	case pgtype.NumericOID:
		return func(x, y []byte) int {
			var a, b pgtype.Numeric
			scan(x, &a)
			scan(y, &b)
			return cmp.Compare(numericRank(a), numericRank(b))*4 + numericCompare(a, b)
		}, nil
	case pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID:
		return func(x, y []byte) int {
			var a, b pgtype.Timestamptz
			if oid == pgtype.DateOID {
				var da, db pgtype.Date
				scan(x, &da)
				scan(y, &db)
				a, b = pgtype.Timestamptz{Time: da.Time, InfinityModifier: da.InfinityModifier}, pgtype.Timestamptz{Time: db.Time, InfinityModifier: db.InfinityModifier}
			} else if oid == pgtype.TimestampOID {
				var ta, tb pgtype.Timestamp
				scan(x, &ta)
				scan(y, &tb)
				a, b = pgtype.Timestamptz{Time: ta.Time, InfinityModifier: ta.InfinityModifier}, pgtype.Timestamptz{Time: tb.Time, InfinityModifier: tb.InfinityModifier}
			} else {
				scan(x, &a)
				scan(y, &b)
			}
			if c := cmp.Compare(a.InfinityModifier, b.InfinityModifier); c != 0 {
				return c
			}
			return a.Time.Compare(b.Time)
		}, nil
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.UUIDOID, pgtype.ByteaOID:
		// bytea's text form (\x and hex digits) sorts as its bytes do
		return bytes.Compare, nil
	}
	return nil, usagef("--merge-by %s: its type (oid %d) is not one streamcat can merge by; use an integer, numeric, floating point, date, timestamp or text column", f.Name, oid)
}

// intKey reads an int2, int4 or int8 value in its wire format. A value
// that does not read (the server sent one, so it does) counts as 0, and
// the merge's order check then reports the input as out of order.
func intKey(v []byte, format int16) int64 {
	if format == pgtype.BinaryFormatCode {
		switch len(v) {
		case 2:
			return int64(int16(endian.BigEndian.Uint16(v)))
		case 4:
			return int64(int32(endian.BigEndian.Uint32(v)))
		case 8:
			return int64(endian.BigEndian.Uint64(v))
		}
		return 0
	}
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		return -int64(n)
	}
	return int64(n)
}

// floatKey reads a float4 or float8 value in its wire format (NaN and the
// infinities included; see intKey for a value that does not read).
func floatKey(v []byte, format int16, oid uint32) float64 {
	if format == pgtype.BinaryFormatCode {
		switch {
		case oid == pgtype.Float4OID && len(v) == 4:
			return float64(math.Float32frombits(endian.BigEndian.Uint32(v)))
		case len(v) == 8:
			return math.Float64frombits(endian.BigEndian.Uint64(v))
		}
		return 0
	}
	if len(v) == 0 {
		return 0
	}
	f, _ := strconv.ParseFloat(unsafe.String(&v[0], len(v)), 64) // not kept: no copy needed
	return f
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// numericRank orders -Infinity, finite values, +Infinity, NaN.
func numericRank(n pgtype.Numeric) int {
	switch {
	case n.NaN:
		return 3
	case n.InfinityModifier == pgtype.NegativeInfinity:
		return -1
	case n.InfinityModifier == pgtype.Infinity:
		return 2
	}
	return 0
}

// numericCompare compares two finite numerics exactly.
func numericCompare(a, b pgtype.Numeric) int {
	if numericRank(a) != 0 || numericRank(b) != 0 || a.Int == nil || b.Int == nil {
		return 0
	}
	return ratOf(a).Cmp(ratOf(b))
}

func ratOf(n pgtype.Numeric) *big.Rat {
	r := new(big.Rat).SetInt(n.Int)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(n.Exp, -n.Exp))), nil)
	if n.Exp >= 0 {
		return r.Mul(r, new(big.Rat).SetInt(p))
	}
	return r.Quo(r, new(big.Rat).SetInt(p))
}

// Package coltest holds what the tests of package columnar share: the type
// table as queries, the SQL that creates its types, and one canonical text
// form of a value, made from what pgx decodes and from what a reader of the
// written file decodes (arrow-go, or apache-arrow through
// columnar/jsreader), so the two can be compared value by value.
package coltest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Setup creates the types the cases use; run it once per database.
const Setup = `
create extension if not exists citext;
create type coltest_mood as enum ('sad', 'ok', 'happy');
create type coltest_pair as (a int4, b text, m numeric(6,2), t timestamptz);
create domain coltest_posint as int4 check (value > 0);
create domain coltest_money2 as numeric(8,2);
`

// Case is one row of README's type table: a query of one column v.
type Case struct {
	Name string
	SQL  string
	// Text: pgx reads the expected values in text format (types written
	// as their text).
	Text bool
	// Float64: written with columnar.NumericFloat64.
	Float64 bool
}

// Cases are the type table's rows; every query ends with a NULL row.
var Cases = []Case{
	{Name: "int2", SQL: `select v::int2 from (values (1), (-32768), (32767), (null)) t(v)`},
	{Name: "int4", SQL: `select v::int4 from (values (1), (-2147483648), (2147483647), (null)) t(v)`},
	{Name: "int8", SQL: `select v::int8 from (values (1), (-9223372036854775808), (9223372036854775807), (null)) t(v)`},
	{Name: "oid", SQL: `select v::oid from (values (0), (4294967295), (null)) t(v)`},
	{Name: "float4", SQL: `select v::float4 from (values ('1.5'), ('-0'), ('3.4e38'), ('1e-45'), ('NaN'), ('Infinity'), ('-Infinity'), (null)) t(v)`},
	{Name: "float8", SQL: `select v::float8 from (values ('0.1'), ('-0'), ('1.7976931348623157e308'), ('5e-324'), ('NaN'), ('Infinity'), ('-Infinity'), (null)) t(v)`},
	{Name: "numeric(10,3)", SQL: `select v::numeric(10,3) from (values (0), (-1.5), (1234567.891), (0.001), (null)) t(v)`},
	{Name: "numeric(38,10)", SQL: `select v::numeric(38,10) from (values ('0'), ('-1234567890123456789012345678.0123456789'), ('9999999999999999999999999999.9999999999'), (null)) t(v)`},
	{Name: "numeric(18,0)", SQL: `select v::numeric(18,0) from (values (999999999999999999), (-1), (null)) t(v)`},
	{Name: "numeric", SQL: `select v::numeric from (values ('0.14285714285714285714'), ('-1e-30'), ('123456789012345678901234567890123456789012345'), ('NaN'), ('Infinity'), ('-Infinity'), ('1.50'), (null)) t(v)`},
	{Name: "numeric(40,2)", SQL: `select v::numeric(40,2) from (values ('12345678901234567890123456789012345678.25'), ('-0.5'), (null)) t(v)`},
	{Name: "numeric as float64", Float64: true, SQL: `select v::numeric from (values ('0.5'), ('-1e-30'), ('NaN'), ('Infinity'), ('-Infinity'), (null)) t(v)`},
	{Name: "bool", SQL: `select v::bool from (values (true), (false), (null)) t(v)`},
	{Name: "text", SQL: `select v::text from (values (''), ('héllo, wörld ✓'), (E'tab\tnewline\n"quote"'), (null)) t(v)`},
	{Name: "varchar", SQL: `select v::varchar(20) from (values ('abc'), (''), (null)) t(v)`},
	{Name: "char", SQL: `select v::char(5) from (values ('ab'), ('abcde'), (null)) t(v)`},
	{Name: "name", SQL: `select v::name from (values ('pg_class'), (null)) t(v)`},
	{Name: "citext", Text: true, SQL: `select v::citext from (values ('MiXeD'), (null)) t(v)`},
	{Name: "bytea", SQL: `select v::bytea from (values ('\x'), ('\x00ff10'), (null)) t(v)`},
	{Name: "date", SQL: `select v::date from (values ('2020-02-29'), ('1970-01-01'), ('1969-12-31'), ('0044-03-15 BC'), ('5874897-12-31'), (null)) t(v)`},
	{Name: "time", SQL: `select v::time from (values ('00:00'), ('23:59:59.999999'), ('24:00'), (null)) t(v)`},
	{Name: "timestamp", SQL: `select v::timestamp from (values ('2020-01-01 12:34:56.789012'), ('1900-01-01'), ('4713-01-01 BC'), ('294000-12-31 23:59:59.999999'), (null)) t(v)`},
	{Name: "timestamptz", SQL: `select v::timestamptz from (values ('2020-06-01 12:00:00.5+02'), ('1960-01-01 00:00Z'), (null)) t(v)`},
	{Name: "interval", SQL: `select v::interval from (values ('1 year 2 mons 3 days 04:05:06.000007'), ('-1 day'), ('-3 mons 40 days -00:00:00.000001'), (null)) t(v)`},
	{Name: "uuid", SQL: `select v::uuid from (values ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), ('00000000-0000-0000-0000-000000000000'), (null)) t(v)`},
	{Name: "json", SQL: `select v::json from (values ('{"a": [1, 2.5, "x"], "b": null}'), ('"s"'), ('null'), (null)) t(v)`},
	{Name: "jsonb", SQL: `select v::jsonb from (values ('{"a": [1, 2.5, "x"], "b": {"c": true}}'), ('[]'), (null)) t(v)`},
	{Name: "enum", SQL: `select v::coltest_mood from (values ('happy'), ('sad'), ('happy'), (null)) t(v)`},
	{Name: "int4[]", SQL: `select v::int4[] from (values ('{1,NULL,3}'), ('{}'), ('[5:6]={7,8}'), (null)) t(v)`},
	{Name: "text[]", SQL: `select v::text[] from (values (array['a', null, '', 'd,e']), (null)) t(v)`},
	{Name: "numeric(5,2)[]", SQL: `select v::numeric(5,2)[] from (values ('{1.5,-2.25,NULL}'), (null)) t(v)`},
	{Name: "enum[]", SQL: `select v::coltest_mood[] from (values ('{ok,happy}'), ('{}'), (null)) t(v)`},
	{Name: "composite", SQL: `select v from (values (row(1, 'x', 2.5, '2020-01-01Z')::coltest_pair), (row(null, null, null, null)::coltest_pair), (null)) t(v)`},
	{Name: "composite[]", SQL: `select v from (values (array[row(1, 'x', 2.5, '2020-01-01Z')::coltest_pair, null]), (null)) t(v)`},
	{Name: "domain", SQL: `select v::coltest_posint from (values (5), (null)) t(v)`},
	{Name: "domain numeric(8,2)", SQL: `select v::coltest_money2 from (values (12.5), (null)) t(v)`},
	{Name: "domain[]", SQL: `select array[v::coltest_posint, null] from (values (5)) t(v) union all select null`},
	{Name: "inet (text fallback)", Text: true, SQL: `select v::inet from (values ('10.0.0.1/8'), ('::1'), (null)) t(v)`},
	{Name: "int4range (text fallback)", Text: true, SQL: `select v::int4range from (values ('[1,5)'), ('empty'), (null)) t(v)`},
	{Name: "timetz (text fallback)", Text: true, SQL: `select v::timetz from (values ('12:00+02'), (null)) t(v)`},
}

// Register loads the cases' custom types into conn's type map, so pgx
// decodes enums, composites and their arrays.
func Register(ctx context.Context, conn *pgx.Conn) error {
	for _, name := range []string{"coltest_mood", "_coltest_mood", "coltest_pair", "_coltest_pair"} {
		t, err := conn.LoadType(ctx, name)
		if err != nil {
			return fmt.Errorf("load type %s: %w", name, err)
		}
		conn.TypeMap().RegisterType(t)
	}
	return nil
}

// Expected runs sql with pgx and returns each row's values in canonical
// form. With text, values are read in text format (as strings).
func Expected(ctx context.Context, conn *pgx.Conn, sql string, text bool) ([][]string, error) {
	var args []any
	if text {
		args = append(args, pgx.QueryResultFormats{pgx.TextFormatCode})
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var row []string
		if text {
			for _, v := range rows.RawValues() {
				if v == nil {
					row = append(row, "NULL")
				} else {
					row = append(row, strconv.Quote(string(v)))
				}
			}
		} else {
			vals, err := rows.Values()
			if err != nil {
				return nil, err
			}
			raw := rows.RawValues()
			for i, v := range vals {
				switch oid, r := rows.FieldDescriptions()[i].DataTypeOID, raw[i]; {
				case r == nil:
					row = append(row, "NULL")
				case oid == pgtype.JSONOID:
					row = append(row, JSON(string(r)))
				case oid == pgtype.JSONBOID && rows.FieldDescriptions()[i].Format == pgx.BinaryFormatCode:
					row = append(row, JSON(string(r[1:]))) // binary jsonb: a version byte, then the text
				case oid == pgtype.JSONBOID:
					row = append(row, JSON(string(r)))
				case oid == pgtype.DateOID:
					row = append(row, Days(v.(time.Time).Unix()/86400))
				default:
					row = append(row, FromPgx(v))
				}
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// FromPgx is the canonical form of a value pgx decoded.
func FromPgx(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int16, int32, int64, uint32:
		return fmt.Sprint(v)
	case float32:
		return Float(float64(v), 32)
	case float64:
		return Float(v, 64)
	case bool:
		return strconv.FormatBool(v)
	case string:
		return strconv.Quote(v)
	case []byte:
		return Bytes(v)
	case [16]byte:
		return Bytes(v[:])
	case pgtype.Numeric:
		switch {
		case v.NaN:
			return "NaN"
		case v.InfinityModifier == pgtype.Infinity:
			return "Infinity"
		case v.InfinityModifier == pgtype.NegativeInfinity:
			return "-Infinity"
		}
		r := new(big.Rat).SetInt(v.Int)
		e := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(v.Exp))), nil)
		if v.Exp < 0 {
			r.Quo(r, new(big.Rat).SetInt(e))
		} else {
			r.Mul(r, new(big.Rat).SetInt(e))
		}
		return Rat(r)
	case time.Time:
		return Micros(v.Unix()*1_000_000 + int64(v.Nanosecond()/1000))
	case pgtype.Time:
		return fmt.Sprintf("time:%d", v.Microseconds)
	case pgtype.Interval:
		return Struct(map[string]string{"months": fmt.Sprint(v.Months), "days": fmt.Sprint(v.Days), "microseconds": fmt.Sprint(v.Microseconds)})
	case []any:
		items := make([]string, len(v))
		for i, x := range v {
			items[i] = FromPgx(x)
		}
		return List(items)
	case map[string]any:
		m := make(map[string]string, len(v))
		for k, x := range v {
			m[k] = FromPgx(x)
		}
		return Struct(m)
	}
	// json and jsonb decode into maps, slices and scalars as
	// encoding/json does; they are told apart by the caller with JSONOf.
	return fmt.Sprintf("unexpected %T", v)
}

func abs(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

// Float is the canonical form of a float of bits 32 or 64.
func Float(f float64, bits int) string { return "f:" + strconv.FormatFloat(f, 'g', -1, bits) }

// Bytes is the canonical form of binary data (bytea, uuid).
func Bytes(b []byte) string { return "x" + hex.EncodeToString(b) }

// Rat is the canonical form of an exact number.
func Rat(r *big.Rat) string { return "num:" + r.RatString() }

// Days is the canonical form of a date: days since 1970-01-01.
func Days(d int64) string { return fmt.Sprintf("days:%d", d) }

// Micros is the canonical form of a date or timestamp: microseconds since
// 1970 (a date at midnight UTC, as pgx decodes it).
func Micros(us int64) string { return fmt.Sprintf("us:%d", us) }

// List is the canonical form of an array.
func List(items []string) string { return "[" + strings.Join(items, ",") + "]" }

// Struct is the canonical form of a composite (attributes by name).
func Struct(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + m[k]
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// JSONBytes is the canonical form of JSON text a reader gave as binary
// (the canonical form of bytes, "x" and hex): arrow-go's Parquet reader
// reads the JSON logical type as binary.
func JSONBytes(canon string) string {
	if !strings.HasPrefix(canon, "x") {
		return canon
	}
	b, err := hex.DecodeString(canon[1:])
	if err != nil {
		return "bad hex " + canon
	}
	return JSON(string(b))
}

// NumericText is the canonical form of numeric text ("12.50", "NaN").
func NumericText(s string) string {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return s
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "bad numeric " + strconv.Quote(s)
	}
	return Rat(r)
}

// JSON is the canonical form of JSON text: decoded and encoded again
// (object keys sorted, numbers as float64), as pgx decodes json and jsonb.
func JSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "bad json " + strconv.Quote(s)
	}
	return JSONValue(v)
}

// JSONValue is the canonical form of a decoded JSON value.
func JSONValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "bad json value"
	}
	return "json:" + string(b)
}

// RatToFloat turns the canonical form of an exact number (or NaN,
// Infinity, -Infinity) into that of the nearest float64, as
// columnar.NumericFloat64 writes it.
func RatToFloat(canon string) string {
	switch canon {
	case "NaN":
		return Float(math.NaN(), 64)
	case "Infinity":
		return Float(math.Inf(1), 64)
	case "-Infinity":
		return Float(math.Inf(-1), 64)
	case "NULL":
		return canon
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(canon, "num:"))
	if !ok {
		return "bad " + canon
	}
	f, _ := r.Float64()
	return Float(f, 64)
}

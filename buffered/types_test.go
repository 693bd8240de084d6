package buffered_test

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

// typeCases are one value per column, with the Go value pgx's Rows.Values
// gives for it. NaN is tested apart: it is not equal to itself.
var typeCases = []struct {
	name string
	sql  string
	want any
}{
	{"i2_min", "(-32768)::int2", int16(math.MinInt16)},
	{"i2_max", "32767::int2", int16(math.MaxInt16)},
	{"i4_min", "(-2147483648)::int4", int32(math.MinInt32)},
	{"i4_max", "2147483647::int4", int32(math.MaxInt32)},
	{"i8_min", "(-9223372036854775808)::int8", int64(math.MinInt64)},
	{"i8_max", "9223372036854775807::int8", int64(math.MaxInt64)},
	{"i4_null", "null::int4", nil},
	{"txt", "'plain'::text", "plain"},
	{"txt_empty", "''::text", ""},
	{"txt_null", "null::text", nil},
	{"txt_unicode", "'héllo ✓ 🐘 日本'::text", "héllo ✓ 🐘 日本"},
	{"vc", "'abc'::varchar(5)", "abc"},
	{"num_small", "1.5::numeric", pgtype.Numeric{Int: big.NewInt(15), Exp: -1, Valid: true}},
	{"num_neg", "(-42)::numeric", pgtype.Numeric{Int: big.NewInt(-42), Exp: 0, Valid: true}},
	{"f8", "2.5::float8", 2.5},
	{"f8_inf", "'Infinity'::float8", math.Inf(1)},
	{"f8_neginf", "'-Infinity'::float8", math.Inf(-1)},
	{"f4", "0.25::float4", float32(0.25)},
	{"b_true", "true", true},
	{"b_false", "false", false},
	{"b_null", "null::bool", nil},
	{"ts", "'2024-02-29 12:34:56.789012+00'::timestamptz", time.Date(2024, 2, 29, 12, 34, 56, 789012000, time.UTC)},
	{"ts_inf", "'infinity'::timestamptz", pgtype.Infinity},
	{"ts_neginf", "'-infinity'::timestamptz", pgtype.NegativeInfinity},
	{"d", "'1999-12-31'::date", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)},
	{"d_inf", "'infinity'::date", pgtype.Infinity},
	{"u", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
		[16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}},
	{"j_obj", `'{"a": 1, "b": [true, null], "c": {"d": "e"}}'::jsonb`,
		map[string]any{"a": float64(1), "b": []any{true, nil}, "c": map[string]any{"d": "e"}}},
	{"j_arr", `'[1, "x", false]'::jsonb`, []any{float64(1), "x", false}},
	{"j_str", `'"s"'::jsonb`, "s"},
	{"j_num", `'12.5'::jsonb`, 12.5},
	{"j_null", `'null'::jsonb`, nil},
	{"j_sqlnull", `null::jsonb`, nil},
	{"ta", `array['a', '', null, 'é']::text[]`, []any{"a", "", nil, "é"}},
	{"ta_empty", `'{}'::text[]`, []any{}},
	{"ia", `array[1, null, 3]::int[]`, []any{int32(1), nil, int32(3)}},
	{"ia_2d", `'{{1,2},{3,4}}'::int[]`, []any{int32(1), int32(2), int32(3), int32(4)}},
	{"by", `'\x00010000ff'::bytea`, []byte{0, 1, 0, 0, 0xff}},
	{"by_empty", `''::bytea`, []byte{}},
	{"by_null", `null::bytea`, nil},
}

func typeQuery() string {
	q := "select "
	for i, c := range typeCases {
		if i > 0 {
			q += ", "
		}
		q += c.sql + " as " + c.name
	}
	return q
}

func TestTypes_RowValuesAreWhatPgxGives(t *testing.T) {
	pool := testdb.Pool(t)
	q := typeQuery()
	row, err := execute(t, pool, q).One()
	require.NoError(t, err)
	got := row.Values()
	require.Len(t, got, len(typeCases))
	for i, c := range typeCases {
		switch want := c.want.(type) {
		case time.Time:
			at, ok := got[i].(time.Time)
			if assert.Truef(t, ok, "%s: got %T", c.name, got[i]) {
				assert.Truef(t, want.Equal(at), "%s: got %v, want %v", c.name, at, want)
			}
		default:
			assert.Equalf(t, c.want, got[i], "%s (%s)", c.name, c.sql)
		}
	}
	oracle := pgxValues(t, pool, q)
	require.Len(t, oracle, 1)
	assert.Equal(t, oracle[0], got, "identical to pgx's own Rows.Values")
}

func TestTypes_GetAndMappingsGiveTheSameValues(t *testing.T) {
	pool := testdb.Pool(t)
	q := typeQuery()
	res := execute(t, pool, q+" union all "+q)
	row, ok := res.FetchOne()
	require.True(t, ok)
	m, ok := res.Mappings().FetchOne()
	require.True(t, ok)
	for i, c := range typeCases {
		v, found := row.Get(c.name)
		require.True(t, found, c.name)
		assert.Equal(t, row.At(i), v, c.name)
		assert.Equal(t, row.At(i), m[c.name], c.name)
	}
}

func TestTypes_BytesDoNotAliasTheResult(t *testing.T) {
	pool := testdb.Pool(t)
	res := execute(t, pool, `select '\x000102'::bytea from generate_series(1, 2)`)
	rows := res.All()
	require.Len(t, rows, 2)
	b := rows[0].At(0).([]byte)
	b[0] = 0xff
	assert.Equal(t, []byte{0, 1, 2}, rows[1].At(0), "a decoded value is a copy")
}

func TestTypes_NumericLargePrecisionNaNAndInfinity(t *testing.T) {
	pool := testdb.Pool(t)
	const big1 = "123456789012345678901234567890.123456789012345678901234567890"
	q := "select '" + big1 + "'::numeric as big, 'NaN'::numeric as nan, '-0.000000000000000000001'::numeric as tiny, 'Infinity'::numeric as inf, null::numeric as none"
	row, err := execute(t, pool, q).One()
	require.NoError(t, err)

	n := row.At(0).(pgtype.Numeric)
	assert.True(t, n.Valid)
	assert.False(t, n.NaN)
	v, err := n.Value()
	require.NoError(t, err)
	assert.Equal(t, big1, v, "no precision lost")

	nan := row.At(1).(pgtype.Numeric)
	assert.True(t, nan.Valid)
	assert.True(t, nan.NaN)

	tiny := row.At(2).(pgtype.Numeric)
	v, err = tiny.Value()
	require.NoError(t, err)
	assert.Equal(t, "-0.000000000000000000001", v)

	inf := row.At(3).(pgtype.Numeric)
	assert.Equal(t, pgtype.Infinity, inf.InfinityModifier)
	assert.Nil(t, row.At(4))

	assert.Equal(t, pgxValues(t, pool, q)[0], row.Values())

	// typed reads
	s, err := buffered.ScalarsOf[pgtype.Numeric](execute(t, pool, "select '"+big1+"'::numeric")).One()
	require.NoError(t, err)
	sv, _ := s.Value()
	assert.Equal(t, big1, sv)
	f, err := buffered.ScalarsOf[float64](execute(t, pool, "select 'NaN'::numeric")).One()
	require.NoError(t, err)
	assert.True(t, math.IsNaN(f))
}

func TestTypes_Float8NaNAndNegativeZero(t *testing.T) {
	pool := testdb.Pool(t)
	row, err := execute(t, pool, "select 'NaN'::float8, '-0'::float8, 0::float8").One()
	require.NoError(t, err)
	nan := row.At(0).(float64)
	assert.True(t, math.IsNaN(nan))
	negz := row.At(1).(float64)
	assert.Equal(t, 0.0, negz)
	assert.True(t, math.Signbit(negz), "-0 keeps its sign")
	assert.False(t, math.Signbit(row.At(2).(float64)))

	typed := buffered.ScalarsOf[float64](execute(t, pool, "select v from (values ('NaN'::float8), ('-0'), ('Infinity')) t(v)")).All()
	require.Len(t, typed, 3)
	assert.True(t, math.IsNaN(typed[0]))
	assert.True(t, math.Signbit(typed[1]))
	assert.True(t, math.IsInf(typed[2], 1))
}

func TestTypes_ScalarsOfTypedTargets(t *testing.T) {
	pool := testdb.Pool(t)
	one := func(sql string) *buffered.Result { return execute(t, pool, "select "+sql) }

	i16, err := buffered.ScalarsOf[int16](one("(-32768)::int2")).One()
	require.NoError(t, err)
	assert.Equal(t, int16(math.MinInt16), i16)
	i64, err := buffered.ScalarsOf[int64](one("9223372036854775807::int8")).One()
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64), i64)
	pi, err := buffered.ScalarsOf[*int32](one("null::int4")).One()
	require.NoError(t, err)
	assert.Nil(t, pi)
	ni, err := buffered.ScalarsOf[pgtype.Int4](one("null::int4")).One()
	require.NoError(t, err)
	assert.False(t, ni.Valid)

	s, err := buffered.ScalarsOf[string](one("'🐘'::text")).One()
	require.NoError(t, err)
	assert.Equal(t, "🐘", s)
	ps, err := buffered.ScalarsOf[*string](one("''::text")).One()
	require.NoError(t, err)
	require.NotNil(t, ps, "empty string is not NULL")
	assert.Equal(t, "", *ps)

	b, err := buffered.ScalarsOf[bool](one("true")).One()
	require.NoError(t, err)
	assert.True(t, b)

	ts, err := buffered.ScalarsOf[pgtype.Timestamptz](one("'infinity'::timestamptz")).One()
	require.NoError(t, err)
	assert.Equal(t, pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}, ts)
	d, err := buffered.ScalarsOf[time.Time](one("'2000-02-29'::date")).One()
	require.NoError(t, err)
	assert.True(t, time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC).Equal(d))

	u, err := buffered.ScalarsOf[[16]byte](one("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid")).One()
	require.NoError(t, err)
	assert.Equal(t, byte(0xa0), u[0])
	assert.Equal(t, byte(0x11), u[15])

	doc, err := buffered.ScalarsOf[map[string]any](one(`'{"k": [1, 2]}'::jsonb`)).One()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"k": []any{float64(1), float64(2)}}, doc)
	type payload struct {
		K []int `json:"k"`
	}
	p, err := buffered.ScalarsOf[payload](one(`'{"k": [1, 2]}'::jsonb`)).One()
	require.NoError(t, err)
	assert.Equal(t, payload{K: []int{1, 2}}, p)

	strs, err := buffered.ScalarsOf[[]string](one(`array['a', 'b']::text[]`)).One()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, strs)
	ints, err := buffered.ScalarsOf[[]*int32](one(`array[1, null]::int[]`)).One()
	require.NoError(t, err)
	require.Len(t, ints, 2)
	require.NotNil(t, ints[0])
	assert.Equal(t, int32(1), *ints[0])
	assert.Nil(t, ints[1])

	raw, err := buffered.ScalarsOf[[]byte](one(`'\x00ff00'::bytea`)).One()
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0xff, 0}, raw)
	nb, err := buffered.ScalarsOf[[]byte](one(`null::bytea`)).One()
	require.NoError(t, err)
	assert.Nil(t, nb, "NULL bytea into []byte is nil")
}

func TestTypes_StructFieldsOfEveryType(t *testing.T) {
	pool := testdb.Pool(t)
	type all struct {
		I2    int16
		I4    *int32
		I8    int64
		Txt   string
		Empty *string
		Null  *string
		Num   pgtype.Numeric
		F8    float64
		B     bool
		Ts    time.Time
		TsInf pgtype.Timestamptz `db:"ts_inf"`
		D     pgtype.Date
		U     [16]byte
		J     map[string]any
		Ta    []*string
		Ia    []*int32
		By    []byte
	}
	q := `select 7::int2 as i2, null::int4 as i4, 8::int8 as i8, 'é' as txt, '' as empty, null::text as null,
		1.25::numeric as num, '-0'::float8 as f8, true as b, '2024-01-01 00:00:00+00'::timestamptz as ts,
		'-infinity'::timestamptz as ts_inf, 'infinity'::date as d, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u,
		'{"x": null}'::jsonb as j, array['a', null]::text[] as ta, array[null, 2]::int[] as ia, '\x0000'::bytea as by`
	got, err := buffered.Structs[all](execute(t, pool, q)).One()
	require.NoError(t, err)
	assert.Equal(t, int16(7), got.I2)
	assert.Nil(t, got.I4)
	assert.Equal(t, int64(8), got.I8)
	assert.Equal(t, "é", got.Txt)
	require.NotNil(t, got.Empty)
	assert.Equal(t, "", *got.Empty)
	assert.Nil(t, got.Null)
	nv, _ := got.Num.Value()
	assert.Equal(t, "1.25", nv)
	assert.True(t, math.Signbit(got.F8))
	assert.True(t, got.B)
	assert.True(t, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Equal(got.Ts))
	assert.Equal(t, pgtype.NegativeInfinity, got.TsInf.InfinityModifier)
	assert.Equal(t, pgtype.Date{InfinityModifier: pgtype.Infinity, Valid: true}, got.D)
	assert.Equal(t, byte(0xa0), got.U[0])
	assert.Equal(t, map[string]any{"x": nil}, got.J)
	require.Len(t, got.Ta, 2)
	assert.Equal(t, "a", *got.Ta[0])
	assert.Nil(t, got.Ta[1])
	require.Len(t, got.Ia, 2)
	assert.Nil(t, got.Ia[0])
	assert.Equal(t, int32(2), *got.Ia[1])
	assert.Equal(t, []byte{0, 0}, got.By)
}

func TestTypes_ManyRowsOfMixedTypesMatchPgx(t *testing.T) {
	pool := testdb.Pool(t)
	q := `select g, g::text || 'é', case when g % 3 = 0 then null else g * 1.5 end::numeric,
		'2024-01-01'::timestamptz + g * interval '1 hour', array[g, null]::int8[], g % 2 = 0,
		case when g % 5 = 0 then null else ('{"g": ' || g || '}')::jsonb end, decode(lpad(to_hex(g), 8, '0'), 'hex')
		from generate_series(1, 2500) g`
	res := execute(t, pool, q)
	assert.Equal(t, pgxValues(t, pool, q), values(res.All()))
	require.NoError(t, res.Err())
}

package main

import (
	"cmp"
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
)

// The merge reads integer and floating-point keys in place, from the
// server's own text and binary forms; every pair of values must compare as
// the values pgx decodes do (NaN after everything, as ORDER BY puts it).
func TestMergeKeyReadsValuesInPlace(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	for _, tc := range []struct{ typ, values string }{
		{"int2", "-32768, -1, 0, 7, 32767"},
		{"int4", "-2147483648, -10, 0, 9, 10, 2147483647"},
		{"int8", "-9223372036854775808, -1, 0, 1, 99, 9223372036854775807"},
		{"float4", "'-Infinity', -1.5e30, -0.0, 0, 1.25, 3.4e38, 'Infinity', 'NaN'"},
		{"float8", "'-Infinity', -1e300, -2.5, -0.0, 0, 1e-300, 0.1, 1e300, 'Infinity', 'NaN'"},
	} {
		for _, format := range []int16{pgtype.TextFormatCode, pgtype.BinaryFormatCode} {
			sql := "select v::" + tc.typ + " from unnest(array[" + tc.values + "]::" + tc.typ + "[]) v"
			res := conn.Conn().PgConn().ExecParams(ctx, sql, nil, nil, nil, []int16{format}).Read()
			require.NoError(t, res.Err, sql)
			f := res.FieldDescriptions[0]
			compare, err := keyValue(f)
			require.NoError(t, err)
			want := decoded(t, f)
			for _, x := range res.Rows {
				for _, y := range res.Rows {
					require.Equal(t, want(x[0], y[0]), compare(x[0], y[0]), "%s (format %d): %q vs %q", tc.typ, format, x[0], y[0])
				}
			}
		}
	}
}

// decoded is the comparison through pgx's decoding, for the test.
func decoded(t *testing.T, f pgconn.FieldDescription) func(x, y []byte) int {
	m := pgtype.NewMap()
	val := func(v []byte) float64 {
		var out float64
		require.NoError(t, m.Scan(f.DataTypeOID, f.Format, v, &out))
		return out
	}
	if f.DataTypeOID == pgtype.Int8OID { // float64 would round the extremes
		return func(x, y []byte) int {
			var a, b int64
			require.NoError(t, m.Scan(f.DataTypeOID, f.Format, x, &a))
			require.NoError(t, m.Scan(f.DataTypeOID, f.Format, y, &b))
			return cmp.Compare(a, b)
		}
	}
	return func(x, y []byte) int {
		a, b := val(x), val(y)
		if an, bn := a != a, b != b; an || bn {
			return cmp.Compare(boolInt(an), boolInt(bn))
		}
		return cmp.Compare(a, b)
	}
}

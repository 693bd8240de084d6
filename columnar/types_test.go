package columnar_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/internal/coltest"
	"github.com/streamcat/streamcat/internal/testdb"
)

// Result formats a case is run with: the ones columnar picks, and for
// scalar types also all-text and all-binary, so both wire forms of every
// scalar type are read.
var formatChoices = map[string]func(*pgconn.StatementDescription, *columnar.Types) pgx.QueryResultFormats{
	"picked": func(sd *pgconn.StatementDescription, ty *columnar.Types) pgx.QueryResultFormats {
		return columnar.ResultFormats(sd.Fields, ty)
	},
	"text": func(*pgconn.StatementDescription, *columnar.Types) pgx.QueryResultFormats {
		return pgx.QueryResultFormats{pgx.TextFormatCode}
	},
	"binary": func(*pgconn.StatementDescription, *columnar.Types) pgx.QueryResultFormats {
		return pgx.QueryResultFormats{pgx.BinaryFormatCode}
	},
}

// scalarOnly: the cases whose values are the same in either wire format
// (arrays, composites and enums sent as text are written as their text,
// and the text-fallback types have no binary mapping).
func scalarOnly(c coltest.Case, sd *pgconn.StatementDescription) bool {
	if c.Text {
		return false
	}
	oid := sd.Fields[0].DataTypeOID
	return oid < 16384 && !isArray(oid) || oid == pgtype.NumericOID
}

func isArray(oid uint32) bool {
	t, ok := pgtype.NewMap().TypeForOID(oid)
	if !ok {
		return false
	}
	_, arr := t.Codec.(*pgtype.ArrayCodec)
	return arr
}

// TestTypeTable writes every row of README's type table as Parquet and as
// Arrow, reads it back with arrow-go and compares every value with what
// pgx decodes from the same query. arrow-go did not write the Parquet
// files (parquet-go did); the Arrow streams, which it did write, are read
// by apache-arrow in TestArrowReadByJS.
func TestTypeTable(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	c, err := p.Acquire(ctx)
	require.NoError(t, err)
	defer func() {
		c.Release()
		testdb.AssertNoAcquired(t, p)
	}()
	conn := c.Conn()
	require.NoError(t, coltest.Register(ctx, conn))

	for _, tc := range coltest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			want, sd, opts := expectCase(t, conn, tc)
			for name, formats := range formatChoices {
				if name != "picked" && !scalarOnly(tc, sd) {
					continue
				}
				for _, format := range []columnar.Format{columnar.Parquet, columnar.Arrow} {
					data, err := writeQuery(t, conn, tc.SQL, format, opts, formats)
					require.NoError(t, err, "%v, %s formats", format, name)
					got := readBack(t, format, data)
					canonicalize(tc, sd, got.rows)
					assert.Equal(t, want, got.rows, "%v, %s formats", format, name)
					if format == columnar.Parquet {
						wl, ok := wantLogical[tc.Name]
						require.True(t, ok, "no logical type listed for %s", tc.Name)
						require.Len(t, got.logical, 1)
						assert.True(t, strings.HasPrefix(got.logical[0], wl), "%s formats: logical type %s, want %s", name, got.logical[0], wl)
						if tc.Name == "enum" {
							assert.True(t, got.dictionary, "enum column not dictionary-encoded")
						}
					}
				}
			}
		})
	}
}

// expectCase returns a case's rows as pgx decodes them (in canonical
// form, as the case is written), its statement description and the
// options to write it with.
func expectCase(t *testing.T, conn *pgx.Conn, tc coltest.Case) ([][]string, *pgconn.StatementDescription, columnar.Options) {
	t.Helper()
	ctx := context.Background()
	want, err := coltest.Expected(ctx, conn, tc.SQL, tc.Text)
	require.NoError(t, err)
	require.NotEmpty(t, want)
	sd, err := conn.Prepare(ctx, "", tc.SQL)
	require.NoError(t, err)
	opts := columnar.Options{}
	if tc.Float64 {
		for _, row := range want {
			row[0] = coltest.RatToFloat(row[0])
		}
		opts.Numeric = columnar.NumericFloat64
	}
	return want, sd, opts
}

// wantLogical is the Parquet logical type README's table gives each case
// (a prefix of arrow-go's rendering; "None" for a plain physical type,
// "group" for a STRUCT).
var wantLogical = map[string]string{
	"int2": "Int(bitWidth=16, isSigned=true)", "int4": "Int(bitWidth=32, isSigned=true)",
	"int8": "Int(bitWidth=64, isSigned=true)", "oid": "Int(bitWidth=32, isSigned=false)",
	"float4": "None", "float8": "None", "bool": "None", "bytea": "None",
	"numeric(10,3)": "Decimal(precision=10, scale=3)", "numeric(38,10)": "Decimal(precision=38, scale=10)",
	"numeric(18,0)": "Decimal(precision=18, scale=0)", "domain numeric(8,2)": "Decimal(precision=8, scale=2)",
	"numeric": "String", "numeric(40,2)": "String", "numeric as float64": "None",
	"text": "String", "varchar": "String", "char": "String", "name": "String", "citext": "String", "enum": "String",
	"date": "Date", "time": "Time(isAdjustedToUTC=false, timeUnit=microseconds)",
	"timestamp": "Timestamp(isAdjustedToUTC=false, timeUnit=microseconds", "timestamptz": "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds",
	"interval": "group", "composite": "group", "uuid": "UUID", "json": "JSON", "jsonb": "JSON",
	"int4[]": "List", "text[]": "List", "numeric(5,2)[]": "List", "enum[]": "List", "composite[]": "List", "domain[]": "List",
	"domain":               "Int(bitWidth=32, isSigned=true)",
	"inet (text fallback)": "String", "int4range (text fallback)": "String", "timetz (text fallback)": "String",
}

// canonicalize turns what a reader gave for a case's column into the
// form pgx's values take: numeric written as text becomes the number, JSON
// read as binary the JSON.
func canonicalize(tc coltest.Case, sd *pgconn.StatementDescription, rows [][]string) {
	for _, row := range rows {
		switch oid := sd.Fields[0].DataTypeOID; {
		case oid == pgtype.NumericOID && !tc.Float64:
			row[0] = numericString(row[0])
		case oid == pgtype.JSONOID || oid == pgtype.JSONBOID:
			row[0] = coltest.JSONBytes(row[0])
		}
	}
}

// numericString turns a written numeric string (quoted canonical form)
// into the canonical form of the number, to compare with pgx's.
func numericString(s string) string {
	if len(s) < 2 || s[0] != '"' {
		return s
	}
	return coltest.NumericText(s[1 : len(s)-1])
}

package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/internal/coltest"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/stream"
)

var setupOnce sync.Once

func pool(t *testing.T) *pgxpool.Pool {
	p := testdb.Pool(t)
	setupOnce.Do(func() {
		_, err := p.Exec(context.Background(), coltest.Setup)
		require.NoError(t, err)
	})
	return p
}

// writeParquet streams sql with the result formats columnar picks and
// writes it as Parquet.
func writeParquet(t *testing.T, conn *pgx.Conn, sql string, opts columnar.Options) []byte {
	t.Helper()
	ctx := context.Background()
	sd, err := conn.Prepare(ctx, "", sql)
	require.NoError(t, err)
	types, err := columnar.LoadTypes(ctx, conn, sd.Fields)
	require.NoError(t, err)
	opts.Types = types
	res, err := stream.Open(ctx, func(ctx context.Context) (pgx.Rows, error) {
		return conn.Query(ctx, sql, columnar.ResultFormats(sd.Fields, types))
	}, stream.Options{}, func(error, bool) {})
	require.NoError(t, err)
	defer res.Close()
	var buf bytes.Buffer
	_, err = columnar.Write(&buf, columnar.Parquet, res, opts)
	require.NoError(t, err)
	return buf.Bytes()
}

// readParquet reads every row with parquet-go, in canonical form, and the
// logical type of each top-level column.
func readParquet(t *testing.T, data []byte) (rows [][]string, logical []string, groups int) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	fields := f.Schema().Fields()
	for _, fl := range fields {
		logical = append(logical, logicalName(fl))
	}
	r := parquet.NewGenericReader[any](bytes.NewReader(data))
	defer r.Close()
	buf := make([]any, 64)
	for {
		n, err := r.Read(buf)
		for _, v := range buf[:n] {
			m := v.(map[string]any)
			row := make([]string, len(fields))
			for i, fl := range fields {
				row[i] = canon(fl, m[fl.Name()])
			}
			rows = append(rows, row)
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	return rows, logical, len(f.RowGroups())
}

// logicalName names a column's Parquet logical type (or its physical type
// when it has none; "group" for a STRUCT).
func logicalName(n parquet.Node) string {
	if lt := n.Type().LogicalType(); lt != nil {
		return lt.String()
	}
	if !n.Leaf() {
		return "group"
	}
	return n.Type().Kind().String()
}

// canon is the canonical form of a value parquet-go decoded for node n.
func canon(n parquet.Node, v any) string {
	if v == nil {
		return "NULL"
	}
	var lv format.LogicalTypeValue
	if lt := n.Type().LogicalType(); lt != nil {
		lv = lt.Value
	}
	switch lt := lv.(type) {
	case *format.ListType:
		elem := n.Fields()[0].Fields()[0] // the 3-level list: <name> (LIST) / list / element
		items := v.([]any)
		out := make([]string, len(items))
		for i, x := range items {
			out[i] = canon(elem, x)
		}
		return coltest.List(out)
	case *format.DecimalType:
		// parquet-go decodes a DECIMAL into a *big.Float of ample
		// precision; rounded to the column's scale it is the exact value.
		if x, ok := v.(*big.Float); ok {
			return coltest.NumericText(x.Text('f', int(lt.Scale)))
		}
	case *format.UUIDType:
		return coltest.Bytes(v.([]byte))
	case *format.JsonType:
		return coltest.JSONValue(v)
	case *format.DateType:
		return coltest.Days(int64(v.(int32)))
	case *format.TimeType:
		return fmt.Sprintf("time:%d", v.(int64))
	case *format.TimestampType:
		return coltest.Micros(v.(int64))
	case *format.StringType, *format.EnumType:
		return strconv.Quote(v.(string))
	}
	if !n.Leaf() {
		m := v.(map[string]any)
		out := make(map[string]string, len(m))
		for _, f := range n.Fields() {
			out[f.Name()] = canon(f, m[f.Name()])
		}
		return coltest.Struct(out)
	}
	switch x := v.(type) {
	case string: // BYTE_ARRAY without a logical type: bytea
		return coltest.Bytes([]byte(x))
	case []byte:
		return coltest.Bytes(x)
	case float32:
		return coltest.Float(float64(x), 32)
	case float64:
		return coltest.Float(x, 64)
	case bool:
		return strconv.FormatBool(x)
	case int32, int64, uint32, int, uint64:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("unexpected %T", v)
}

// wantLogical is the Parquet logical type README's table gives each case
// (a prefix of parquet-go's rendering; "" for none).
var wantLogical = map[string]string{
	"int2": "INT(16,true)", "int4": "INT(32,true)", "int8": "INT(64,true)", "oid": "INT(32,false)",
	"float4": "FLOAT", "float8": "DOUBLE",
	"numeric(10,3)": "DECIMAL(10,3)", "numeric(38,10)": "DECIMAL(38,10)", "numeric(18,0)": "DECIMAL(18,0)",
	"numeric": "STRING", "numeric(40,2)": "STRING", "numeric as float64": "DOUBLE",
	"bool": "BOOLEAN", "text": "STRING", "varchar": "STRING", "char": "STRING", "name": "STRING", "citext": "STRING",
	"bytea": "BYTE_ARRAY", "date": "DATE", "time": "TIME(isAdjustedToUTC=false,unit=MICROS)",
	"timestamp": "TIMESTAMP(isAdjustedToUTC=false,unit=MICROS)", "timestamptz": "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)",
	"interval": "group", "uuid": "UUID", "json": "JSON", "jsonb": "JSON", "enum": "STRING",
	"int4[]": "LIST", "text[]": "LIST", "numeric(5,2)[]": "LIST", "enum[]": "LIST",
	"composite": "group", "composite[]": "LIST", "domain": "INT(32,true)", "domain numeric(8,2)": "DECIMAL(8,2)",
	"domain[]": "LIST", "inet (text fallback)": "STRING", "int4range (text fallback)": "STRING", "timetz (text fallback)": "STRING",
}

// TestTypeTableParquetGo: every row of the type table, written by
// columnar (arrow-go) and read by parquet-go, equals what pgx decodes,
// value by value, with the logical type README's table names.
func TestTypeTableParquetGo(t *testing.T) {
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
			want, err := coltest.Expected(ctx, conn, tc.SQL, tc.Text)
			require.NoError(t, err)
			sd, err := conn.Prepare(ctx, "", tc.SQL)
			require.NoError(t, err)
			opts := columnar.Options{}
			if tc.Float64 {
				opts.Numeric = columnar.NumericFloat64
			}
			got, logical, _ := readParquet(t, writeParquet(t, conn, tc.SQL, opts))
			oid := sd.Fields[0].DataTypeOID
			for i, row := range want {
				switch {
				case tc.Float64:
					row[0] = coltest.RatToFloat(row[0])
				case oid == pgtype.NumericOID && i < len(got):
					got[i][0] = numericString(got[i][0])
				case (oid == pgtype.JSONOID || oid == pgtype.JSONBOID) && row[0] == "json:null":
					// parquet-go decodes the JSON value null as nil, as
					// it does SQL NULL; arrow-go's test tells them apart.
					row[0] = "NULL"
				}
			}
			assert.Equal(t, want, got)
			w, ok := wantLogical[tc.Name]
			require.True(t, ok, "no logical type listed for %s", tc.Name)
			require.Len(t, logical, 1)
			assert.Contains(t, logical[0], w)
		})
	}
}

func numericString(s string) string {
	if len(s) < 2 || s[0] != '"' {
		return s
	}
	return coltest.NumericText(s[1 : len(s)-1])
}

// TestRowGroupsParquetGo: a result larger than a row group is several row
// groups, read back in order; an empty result is a file with the schema
// and no rows; one row is one row group.
func TestRowGroupsParquetGo(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	c, err := p.Acquire(ctx)
	require.NoError(t, err)
	defer func() {
		c.Release()
		testdb.AssertNoAcquired(t, p)
	}()
	conn := c.Conn()
	for _, tc := range []struct {
		sql          string
		rows, groups int
	}{
		{"select g::int8 as n, md5(g::text) as s from generate_series(1, 2500) g", 2500, 3},
		{"select 1::int8 as n, 'x'::text as s", 1, 1},
		{"select 1::int8 as n, 'x'::text as s where false", 0, 0},
	} {
		got, logical, groups := readParquet(t, writeParquet(t, conn, tc.sql, columnar.Options{RowGroupRows: 1000}))
		assert.Len(t, got, tc.rows, tc.sql)
		assert.Equal(t, tc.groups, groups, tc.sql)
		assert.Len(t, logical, 2, tc.sql)
		for i, row := range got {
			require.Equal(t, strconv.Itoa(i+1), row[0], tc.sql)
		}
	}
}

package columnar_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/stream"
)

var (
	formats = []columnar.Format{columnar.Parquet, columnar.Arrow}
	picked  = formatChoices["picked"]
)

// withConn runs f on a connection of the package's pool and checks that it
// went back.
func withConn(t *testing.T, f func(conn *pgx.Conn)) {
	p := pool(t)
	c, err := p.Acquire(context.Background())
	require.NoError(t, err)
	defer func() {
		c.Release()
		testdb.AssertNoAcquired(t, p)
	}()
	f(c.Conn())
}

func TestEmptyResult(t *testing.T) {
	withConn(t, func(conn *pgx.Conn) {
		for _, f := range formats {
			data, err := writeQuery(t, conn, "select 1::int4 as a, 'x'::text as b where false", f, columnar.Options{}, picked)
			require.NoError(t, err, f)
			got := readBack(t, f, data)
			assert.Empty(t, got.rows, f)
			assert.Equal(t, 0, got.batches, f)
			require.NotNil(t, got.schema, f)
			assert.Equal(t, []string{"a", "b"}, fieldNames(got), f)
		}
	})
}

func fieldNames(w written) []string {
	var out []string
	for _, f := range w.schema.Fields() {
		out = append(out, f.Name)
	}
	return out
}

// TestNoColumns: a result of rows without columns keeps its row count in
// Arrow, and is refused for Parquet, which would lose it.
func TestNoColumns(t *testing.T) {
	withConn(t, func(conn *pgx.Conn) {
		data, err := writeQuery(t, conn, "select from generate_series(1, 3)", columnar.Arrow, columnar.Options{}, picked)
		require.NoError(t, err)
		got := readBack(t, columnar.Arrow, data)
		assert.Len(t, got.rows, 3)
		assert.Empty(t, got.schema.Fields())

		_, err = writeQuery(t, conn, "select from generate_series(1, 3)", columnar.Parquet, columnar.Options{}, picked)
		assert.ErrorIs(t, err, columnar.ErrNoColumns)
	})
}

// A result Write refuses before its first row is closed by Write: the
// stream's connection is free again at once, with most rows unread.
func TestRefusedResultIsClosed(t *testing.T) {
	withConn(t, func(conn *pgx.Conn) {
		ctx := context.Background()
		for _, tc := range []struct {
			name string
			opts columnar.Options
			sql  string
			want error
		}{
			{"no columns", columnar.Options{}, "select from generate_series(1, 1000000)", columnar.ErrNoColumns},
			{"bad option", columnar.Options{Compression: "lzma"}, "select g from generate_series(1, 1000000) g", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := stream.Open(ctx, func(ctx context.Context) (pgx.Rows, error) {
					return conn.Query(ctx, tc.sql)
				}, stream.Options{}, func(error, bool) {})
				require.NoError(t, err)
				defer res.Close()
				_, err = columnar.Write(io.Discard, columnar.Parquet, res, tc.opts)
				require.Error(t, err)
				if tc.want != nil {
					assert.ErrorIs(t, err, tc.want)
				}
				var one int
				require.NoError(t, conn.QueryRow(ctx, "select 1").Scan(&one), "the connection is free: Write closed the stream")
				assert.Equal(t, 1, one)
			})
		}
	})
}

func TestOneRow(t *testing.T) {
	withConn(t, func(conn *pgx.Conn) {
		for _, f := range formats {
			data, err := writeQuery(t, conn, "select 42::int8 as n, 'one'::text as s", f, columnar.Options{}, picked)
			require.NoError(t, err, f)
			got := readBack(t, f, data)
			assert.Equal(t, [][]string{{"42", `"one"`}}, got.rows, f)
			assert.Equal(t, 1, got.batches, f)
		}
	})
}

// TestBatches: a batch ends at RowGroupRows rows or RowGroupBytes bytes;
// every batch is one row group or record batch, and the rows stay in
// order across them.
func TestBatches(t *testing.T) {
	cases := []struct {
		name    string
		opts    columnar.Options
		batches int
	}{
		{"rows", columnar.Options{RowGroupRows: 3}, 4},
		{"bytes", columnar.Options{RowGroupBytes: 100}, 2}, // 10 rows of 8+16 bytes: a batch ends at 100 bytes or more, every 5th row
	}
	withConn(t, func(conn *pgx.Conn) {
		var want [][]string
		for g := 1; g <= 10; g++ {
			want = append(want, []string{itoa(g), `"` + "abcdefghijklmnop"[:16] + `"`})
		}
		for _, c := range cases {
			for _, f := range formats {
				data, err := writeQuery(t, conn, "select g::int8, 'abcdefghijklmnop'::text from generate_series(1, 10) g", f, c.opts, picked)
				require.NoError(t, err)
				got := readBack(t, f, data)
				assert.Equal(t, want, got.rows, "%s %v", c.name, f)
				assert.Equal(t, c.batches, got.batches, "%s %v", c.name, f)
			}
		}
	})
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestValueErrors: values with no Parquet/Arrow counterpart fail the write
// with a *ValueError naming the column and the row, in either wire format.
func TestValueErrors(t *testing.T) {
	cases := []struct {
		name, value, typ string
		err              error
	}{
		{"date infinity", "infinity", "date", columnar.ErrInfinity},
		{"timestamp -infinity", "-infinity", "timestamp", columnar.ErrInfinity},
		{"timestamptz infinity", "infinity", "timestamptz", columnar.ErrInfinity},
		{"timestamp past int64 microseconds", "294276-12-31 23:59:59", "timestamp", columnar.ErrOutOfRange},
		{"NaN decimal", "NaN", "numeric(5,2)", columnar.ErrNaNDecimal},
		{"2-D array", "{{1,2},{3,4}}", "int4[]", columnar.ErrMultiDim},
	}
	withConn(t, func(conn *pgx.Conn) {
		for _, c := range cases {
			sql := "select g, (case when g = 3 then '" + c.value + "' end)::" + c.typ + " as bad from generate_series(1, 5) g"
			for name, fmts := range formatChoices {
				if name == "text" && c.err == columnar.ErrMultiDim {
					continue // an array in text format is written as its text
				}
				for _, f := range formats {
					_, err := writeQuery(t, conn, sql, f, columnar.Options{}, fmts)
					require.ErrorIs(t, err, c.err, "%s, %s formats, %v", c.name, name, f)
					var ve *columnar.ValueError
					require.ErrorAs(t, err, &ve)
					assert.Equal(t, "bad", ve.Column)
					assert.Equal(t, int64(3), ve.Row)
					assert.Contains(t, err.Error(), `column "bad", row 3`)
				}
			}
		}
	})
}

// TestNoBinaryMapping: a type written as its text, sent in binary, is
// refused at Begin, naming the column and the type.
func TestNoBinaryMapping(t *testing.T) {
	withConn(t, func(conn *pgx.Conn) {
		_, err := writeQuery(t, conn, "select '10.0.0.1'::inet as addr", columnar.Parquet, columnar.Options{}, formatChoices["binary"])
		require.Error(t, err)
		assert.Contains(t, err.Error(), `column "addr"`)
		assert.Contains(t, err.Error(), "inet")
		assert.Contains(t, err.Error(), "text format")
	})
}

func TestOptions(t *testing.T) {
	_, err := columnar.NewWriter(columnar.Arrow, &bytes.Buffer{}, columnar.Options{Compression: columnar.CompressionSnappy})
	assert.ErrorContains(t, err, "Arrow IPC supports zstd or none")
	_, err = columnar.NewWriter(columnar.Parquet, &bytes.Buffer{}, columnar.Options{Compression: "lzma"})
	assert.ErrorContains(t, err, `compression "lzma"`)
	_, err = columnar.NewWriter(columnar.Format(7), &bytes.Buffer{}, columnar.Options{})
	assert.ErrorContains(t, err, "unknown format")
}

// TestCompression: every compression reads back to the same rows.
func TestCompression(t *testing.T) {
	withConn(t, func(conn *pgx.Conn) {
		sql := "select g::int8, md5(g::text) from generate_series(1, 1000) g"
		var first [][]string
		for _, c := range []struct {
			f columnar.Format
			c columnar.Compression
		}{
			{columnar.Parquet, columnar.CompressionZstd}, {columnar.Parquet, columnar.CompressionSnappy},
			{columnar.Parquet, columnar.CompressionNone}, {columnar.Arrow, columnar.CompressionZstd},
			{columnar.Arrow, columnar.CompressionNone},
		} {
			data, err := writeQuery(t, conn, sql, c.f, columnar.Options{Compression: c.c}, picked)
			require.NoError(t, err)
			got := readBack(t, c.f, data)
			require.Len(t, got.rows, 1000)
			if first == nil {
				first = got.rows
			}
			assert.Equal(t, first, got.rows, "%v %s", c.f, c.c)
		}
	})
}

// failingWriter fails every write: a full disk or a closed pipe, which the
// test cannot make the server or the OS produce on demand.
type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// TestOutputError: the output's own error is returned, reachable with
// errors.Is, not the library's rewording of it.
func TestOutputError(t *testing.T) {
	boom := errors.New("disk full")
	for _, f := range formats {
		w, err := columnar.NewWriter(f, failingWriter{boom}, columnar.Options{RowGroupRows: 1})
		require.NoError(t, err)
		err = w.Begin([]pgconn.FieldDescription{{Name: "n", DataTypeOID: 20, Format: 1}})
		if err == nil {
			err = w.Row([][]byte{{0, 0, 0, 0, 0, 0, 0, 1}})
		}
		if err == nil {
			err = w.End()
		}
		assert.ErrorIs(t, err, boom, f)
	}
}

// TestBufferedResult: Write takes any result, here one held in memory, and
// a view of some of its columns.
func TestBufferedResult(t *testing.T) {
	withConn(t, func(conn *pgx.Conn) {
		rows, err := conn.Query(context.Background(), "select g::int8 as n, 'x' || g as s, g * 2 as d from generate_series(1, 3) g")
		require.NoError(t, err)
		res, err := buffered.FromRows(rows)
		require.NoError(t, err)
		var buf bytes.Buffer
		n, err := columnar.Write(&buf, columnar.Arrow, res.Columns("s", "n"), columnar.Options{})
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)
		got := readBack(t, columnar.Arrow, buf.Bytes())
		assert.Equal(t, []string{"s", "n"}, fieldNames(got))
		assert.Equal(t, [][]string{{`"x1"`, "1"}, {`"x2"`, "2"}, {`"x3"`, "3"}}, got.rows)
	})
}

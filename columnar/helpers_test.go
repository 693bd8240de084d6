package columnar_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/internal/coltest"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/stream"
)

var setupOnce sync.Once

// pool returns the package's pool with the type table's types created.
func pool(t *testing.T) *pgxpool.Pool {
	p := testdb.Pool(t)
	setupOnce.Do(func() {
		_, err := p.Exec(context.Background(), coltest.Setup)
		require.NoError(t, err)
	})
	return p
}

// written is what a Writer produced, read back with arrow-go.
type written struct {
	schema  *arrow.Schema
	rows    [][]string // canonical values
	batches int        // row groups or record batches
	logical []string   // Parquet: each column's logical type, "group" for a STRUCT
	// dictionary: Parquet's first column is dictionary-encoded in its
	// first row group
	dictionary bool
}

// writeQuery runs sql on conn through a stream, with the result formats
// formats returns, writes it as format and returns the bytes.
func writeQuery(t *testing.T, conn *pgx.Conn, sql string, format columnar.Format, opts columnar.Options, formats func(*pgconn.StatementDescription, *columnar.Types) pgx.QueryResultFormats) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	sd, err := conn.Prepare(ctx, "", sql)
	require.NoError(t, err)
	types, err := columnar.LoadTypes(ctx, conn, sd.Fields)
	require.NoError(t, err)
	if opts.Types == nil {
		opts.Types = types
	}
	res, err := stream.Open(ctx, func(ctx context.Context) (pgx.Rows, error) {
		return conn.Query(ctx, sql, formats(sd, types))
	}, stream.Options{}, func(error, bool) {})
	require.NoError(t, err)
	defer res.Close()
	var buf bytes.Buffer
	_, err = columnar.Write(&buf, format, res, opts)
	return buf.Bytes(), err
}

// readBack decodes a Parquet file or Arrow stream with arrow-go.
func readBack(t *testing.T, format columnar.Format, data []byte) written {
	t.Helper()
	var w written
	add := func(rec arrow.RecordBatch) {
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = coltest.FromArrow(rec.Column(c), i)
			}
			w.rows = append(w.rows, row)
		}
	}
	if format == columnar.Arrow {
		r, err := ipc.NewReader(bytes.NewReader(data))
		require.NoError(t, err)
		defer r.Release()
		w.schema = r.Schema()
		for r.Next() {
			add(r.RecordBatch())
			w.batches++
		}
		require.NoError(t, r.Err())
		return w
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	require.NoError(t, err)
	defer pf.Close()
	w.batches = pf.NumRowGroups()
	root := pf.MetaData().Schema.Root()
	for i := range root.NumFields() {
		n := root.Field(i)
		lt := n.LogicalType().String()
		if _, group := n.(*schema.GroupNode); group && lt == "None" {
			lt = "group"
		}
		w.logical = append(w.logical, lt)
	}
	if pf.NumRowGroups() > 0 && root.NumFields() > 0 {
		cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
		require.NoError(t, err)
		for _, e := range cc.Encodings() {
			w.dictionary = w.dictionary || e == parquet.Encodings.RLEDict || e == parquet.Encodings.PlainDict
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 20}, memory.DefaultAllocator)
	require.NoError(t, err)
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	require.NoError(t, err)
	defer rr.Release()
	w.schema = rr.Schema()
	for rr.Next() {
		add(rr.RecordBatch())
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		require.NoError(t, err)
	}
	return w
}

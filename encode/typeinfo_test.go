package encode_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/encode"
	"github.com/streamcat/streamcat/internal/testdb"
)

// TestBuiltinTablesMatchCatalog checks the built-in type tables against the
// server's pg_type.
func TestBuiltinTablesMatchCatalog(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	rows, err := pool.Query(ctx, `select oid, typelem, typtype::text, typelem <> 0 and typlen = -1
		from pg_type where oid < 10000`)
	require.NoError(t, err)
	arrays := map[uint32]uint32{}
	scalars := map[uint32]struct{}{}
	for rows.Next() {
		var oid, elem uint32
		var typtype string
		var isArray bool
		require.NoError(t, rows.Scan(&oid, &elem, &typtype, &isArray))
		switch {
		case isArray:
			arrays[oid] = elem
		case typtype != "c":
			scalars[oid] = struct{}{}
		}
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, arrays, encode.BuiltinArrays)
	assert.Equal(t, scalars, encode.BuiltinScalars)
}

// countingQuerier counts queries; with fail set it refuses them.
type countingQuerier struct {
	q     encode.Querier
	n     int
	fail  bool
	lastA []any
}

func (c *countingQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n++
	c.lastA = args
	if c.fail {
		return nil, errors.New("no query expected")
	}
	return c.q.Query(ctx, sql, args...)
}

func TestLoadTypeInfoBuiltinsNeedNoQuery(t *testing.T) {
	q := &countingQuerier{fail: true}
	ti, err := encode.LoadTypeInfo(context.Background(), q, fields(23, 25, 1009, 1185, 3802, 22, 2249, 2287))
	require.NoError(t, err)
	assert.NotNil(t, ti)
	assert.Zero(t, q.n)
}

func TestLoadTypeInfoNested(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	ctx := context.Background()
	var nested, pairs, tags uint32
	require.NoError(t, pool.QueryRow(ctx, `select 'enc.nested'::regtype::oid, 'enc.pair[]'::regtype::oid, 'enc.tags'::regtype::oid`).Scan(&nested, &pairs, &tags))

	// In a transaction too: pgx.Tx is a Querier.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	q := &countingQuerier{q: tx}
	ti, err := encode.LoadTypeInfo(ctx, q, fields(nested, pairs, tags, 23))
	require.NoError(t, err)
	// nested -> pair, pair[], mood, posint, ... -> pair's attributes: built in.
	assert.LessOrEqual(t, q.n, 3)
	require.Len(t, q.lastA, 1, "the OIDs are one bound parameter")

	var buf []byte
	buf = encodeRows(t, "jsonl", encode.Options{Types: ti}, fields(nested, pairs, tags),
		[][]byte{[]byte(`("(1,x)","{""(2,y)""}",ok,3,"{""k"": 1}","2024-01-01 00:00:00+00","{1.50}")`), []byte(`{"(3,\"a b\")",NULL}`), []byte(`{a,NULL}`)})
	assert.JSONEq(t, `{"c0":{"p":{"a":1,"b":"x"},"ps":[{"a":2,"b":"y"}],"m":"ok","d":3,"j":{"k":1},"t":"2024-01-01T00:00:00+00:00","n":[1.50]},
		"c1":[{"a":3,"b":"a b"},null],"c2":["a",null]}`, string(buf))
}

func TestLoadTypeInfoQueryError(t *testing.T) {
	q := &countingQuerier{fail: true}
	_, err := encode.LoadTypeInfo(context.Background(), q, []pgconn.FieldDescription{{Name: "x", DataTypeOID: 90000}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "type information")
}

// TestTypeInfoByHand: a TypeInfo built without a server, including a
// domain over an array of a composite and a cycle (which PostgreSQL cannot
// have) that must not loop.
func TestTypeInfoByHand(t *testing.T) {
	ti := encode.NewTypeInfo()
	ti.AddComposite(90010, []encode.Attribute{{Name: "n", Type: 1700}, {Name: "ok", Type: 16}})
	ti.AddArray(90011, 90010, ',')
	ti.AddDomain(90012, 90011)
	ti.AddDomain(90013, 90014)
	ti.AddDomain(90014, 90013)
	out := encodeRows(t, "jsonl", encode.Options{Types: ti}, fields(90012, 90013),
		[][]byte{[]byte(`{"(1.5,t)","(,f)"}`), []byte("x")})
	assert.Equal(t, `{"c0":[{"n":1.5,"ok":true},{"n":null,"ok":false}],"c1":"x"}`+"\n", string(out))
}

package encode_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/encode"
	"github.com/streamcat/streamcat/internal/testdb"
)

func TestMain(m *testing.M) {
	// A fuzzing worker process runs only the fuzz target, which needs no
	// server: skip starting one per worker.
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	testdb.Main(m)
}

// fixtureSQL creates schema enc with types of every kind and the table
// enc.hard of values that are hard to encode: one row per difficulty, most
// columns NULL.
const fixtureSQL = `
create schema enc;
create type enc.mood as enum ('sad', 'ok', 'with space', 'quo"te', 'NULL');
create domain enc.posint as int check (value > 0);
create domain enc.tags as text[];
create domain enc.doc as jsonb;
create type enc.pair as (a int, b text);
create type enc.empty as ();
create domain enc.pd as enc.pair;
create type enc.nested as (p enc.pair, ps enc.pair[], m enc.mood, d enc.posint, j jsonb, t timestamptz, n numeric[]);
create type enc.dropped as (x int, y text, z int);
alter type enc.dropped drop attribute y;
create table enc.hard (
  id int primary key,
  t text, vc varchar(20), bp char(5), nm name, ch "char",
  i2 int2, i4 int4, i8 int8, n numeric, f4 float4, f8 float8, o oid, m money, b bool,
  ts timestamp, tstz timestamptz, d date, tm time, tmtz timetz, iv interval,
  by bytea, u uuid, j json, jb jsonb,
  ia int[], ta text[], ia2 int[], na numeric[], ba bool[], tsa timestamptz[], ja jsonb[], boxa box[], f8a float8[],
  e enc.mood, ea enc.mood[], dom enc.posint, doma enc.tags, doc enc.doc, doca enc.doc[],
  p enc.pair, pa enc.pair[], nest enc.nested, dr enc.dropped,
  r int4range, tr tstzrange, mr int4multirange,
  ip inet, cid cidr, mac macaddr, bits varbit, x xml, pt point, bx box, tv tsvector,
  i2v int2vector, ov oidvector
);
insert into enc.hard (id, t) values
  (1, 'plain'), (2, 'a,b'), (3, 'say "hi"'), (4, E'line1\nline2'), (5, E'cr\rhere'),
  (6, E'crlf\r\nx'), (7, E'tab\there'), (8, E'back\\slash'), (9, '  lead and trail  '),
  (10, 'unicode: žluťoučký kůň 🐘 日本語'), (11, ''), (12, NULL), (13, 'NULL'), (14, '\N'),
  (15, '\.'), (16, E'ctrl \b\f\v \x01\x1f\x7f'), (17, '{braces}'), (18, '(paren)'),
  (19, 'semi;colon|pipe'), (20, 'quote''single'), (21, '"'), (22, '""'), (23, ','),
  (24, E'\\'), (25, E'\\N'), (26, ' '), (27, 'x'), (28, E'end\n'), (29, E'\n'), (30, 'null');
insert into enc.hard (id, vc, bp, nm, ch, i2, i4, i8, n, f4, f8, o, m, b) values
  (40, 'v,c', 'ab', 'name"x', 'q', -32768, -2147483648, -9223372036854775808, 'NaN', 'NaN', 'NaN', 0, '-12.34', true),
  (41, '', '', '', '"', 32767, 2147483647, 9223372036854775807, '123456789012345678901234567890.123456789012345678901234567890', 'Infinity', 'Infinity', 4294967295, 0, false),
  (42, NULL, NULL, NULL, NULL, 0, 0, 0, '-0.000000001', '-Infinity', '-Infinity', 12, 1e9, NULL),
  (43, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1.50, '-0', '-0', NULL, NULL, NULL),
  (44, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'Infinity', 3.4028235e38, 1e300, NULL, NULL, NULL),
  (45, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-Infinity', 1.1754944e-38, 5e-324, NULL, NULL, NULL),
  (46, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0.1, 0.1, NULL, NULL, NULL),
  (47, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1e-20, 1e10, 1e15, NULL, NULL, NULL),
  (48, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 100, 123456.7, 1e16, NULL, NULL, NULL);
insert into enc.hard (id, ts, tstz, d, tm, tmtz, iv) values
  (60, 'infinity', 'infinity', 'infinity', '00:00', '00:00+00', '1 year 2 mons -3 days 04:05:06.789'),
  (61, '-infinity', '-infinity', '-infinity', '24:00', '23:59:59.999999-14:59', '-1 day'),
  (62, '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00+00 BC', '0044-03-15 BC', '12:34:56.5', '12:00+05:30', '0'),
  (63, '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999999+00', '2024-02-29', NULL, NULL, '1 microsecond'),
  (64, '10000-01-01 00:00', '10000-01-01 00:00+00', '10000-01-01', NULL, NULL, '178000000 years'),
  (65, '1850-01-01 00:00', '1850-01-01 00:00+00', '1850-01-01', NULL, NULL, NULL),
  (66, '2024-07-01 12:00:00.5', '2024-07-01 12:00:00.5+02', '4713-01-01 BC', NULL, NULL, NULL),
  (67, '1999-12-31 23:59:59', '1999-12-31 23:59:59-03:30', '2000-01-01', NULL, NULL, NULL);
insert into enc.hard (id, by, u, j, jb) values
  (80, '\x00010203ff00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', E'{"a" : [1, 2.50, "x\\"y"],\n "b": null,\r\n "c": "\\u00e9\\n"}', E'{"a": [1, 2.50, "x\\"y"], "b": null, "c": "é\\n"}'),
  (81, '\x', '00000000-0000-0000-0000-000000000000', '"str"', '"str"'),
  (82, E'\\x00', NULL, '[]', '[]'),
  (83, NULL, NULL, '123.4500', '123.4500'),
  (84, NULL, NULL, E'  {"dup": 1, "dup": 2}\n', '{"dup": 1, "dup": 2}'),
  (85, NULL, NULL, 'null', 'null'),
  (86, NULL, NULL, '{"k": "tab\there"}', '{"big": 12345678901234567890123456789, "e": 1e300}');
insert into enc.hard (id, ia, ta, ia2, na, ba, tsa, ja, boxa, f8a) values
  (100, '{1,NULL,3}', array['a,b', 'say "hi"', NULL, '', 'NULL', 'null', E'back\\slash', ' sp ', E'nl\n', '{x}', 'semi;colon', E'\\N'],
        '{{1,2},{3,4}}', '{NaN,1.50,Infinity,-Infinity,-0.0}', '{t,f,NULL}',
        '{"2024-01-01 00:00+00",infinity,NULL,"0044-03-15 12:00+00 BC"}',
        array['{"a":1}'::jsonb, '[1,"x"]', 'null', '"s,t"', NULL], '{(1,1),(0,0);(2,2),(1,1)}', '{NaN,-Infinity,1e300,-0}'),
  (101, '{}', '{}', '{{{1}},{{2}}}', '{}', '{}', '{}', '{}', '{}', '{}'),
  (102, '[0:2]={1,2,3}', '[-1:0]={x,y}', '[0:1][1:2]={{1,2},{3,4}}', '{1}', NULL, NULL, NULL, NULL, NULL),
  (103, '{NULL}', '{NULL}', '{{NULL,NULL}}', '{NULL}', NULL, NULL, NULL, NULL, NULL),
  (104, NULL, array['', ' ', E'\t', '"', E'\\', '{', '}', ',', 'a b', 'NuLl', '🐘'], NULL, NULL, NULL, NULL, NULL, NULL, NULL);
insert into enc.hard (id, e, ea, dom, doma, doc, doca) values
  (120, 'sad', '{sad,"with space","quo\"te",NULL,"NULL"}', 5, '{a,b}', '{"d": [1]}', array['{"x":1}'::enc.doc, NULL]),
  (121, 'with space', '{}', 2147483647, '{}', '"s"', '{}'),
  (122, 'quo"te', NULL, NULL, array['NULL', NULL, 'q"'], NULL, NULL),
  (123, 'NULL', NULL, NULL, NULL, NULL, NULL);
insert into enc.hard (id, p, pa, nest, dr) values
  (140, row(1, 'x'), array[row(1, 'a'), row(NULL, 'b c'), NULL, row(NULL, NULL), row(2, '')]::enc.pair[],
        row(row(1, 'x'), array[row(2, 'y"z')::enc.pair], 'ok', 3, '{"k": [1, 2]}', '2024-01-01 00:00+00', '{1.50,NaN}')::enc.nested,
        row(1, 3)::enc.dropped),
  (141, row(NULL, ''), '{}', row(NULL, NULL, NULL, NULL, NULL, NULL, NULL)::enc.nested, row(NULL, NULL)::enc.dropped),
  (142, row(2, E'a,b"c\\d (e) f''g\nh'), array[row(3, E'a,b"c\\d (e)')]::enc.pair[],
        row(row(NULL, '()'), '{}', 'with space', NULL, 'null', 'infinity', '{}')::enc.nested, NULL),
  (143, row(NULL, NULL), NULL, NULL, NULL),
  (144, row(-5, ' lead'), array[row(NULL, 'NULL')]::enc.pair[], NULL, NULL);
insert into enc.hard (id, r, tr, mr, ip, cid, mac, bits, x, pt, bx, tv, i2v, ov) values
  (160, '[1,5)', '[2024-01-01 00:00+00,2024-02-01 00:00+00)', '{[1,3),[5,7)}', '192.168.0.1/24', '10.0.0.0/8',
        '08:00:2b:01:02:03', B'1010', '<a x="1">t&amp;</a>', '(1,2)', '(1,1),(0,0)', 'a:1 b:2 ''c d'':3', '1 2 3', '4 5'),
  (161, 'empty', '(,)', '{}', '::1', '::/0', NULL, B'', '', '(-1.5,1e+20)', NULL, '', '', ''),
  (162, '(,5]', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-1', NULL);
`

var (
	fixtureOnce sync.Once
	fixtureErr  error
)

// fixture (re)creates schema enc once per test process.
func fixture(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	fixtureOnce.Do(func() {
		_, fixtureErr = pool.Exec(context.Background(), "drop schema if exists enc cascade;"+fixtureSQL)
	})
	require.NoError(t, fixtureErr)
}

// encodeQuery runs sql on conn with text result format and feeds the rows
// to a new encoder of format. With loadTypes, Options.Types is loaded
// through q (which must not be conn: conn is busy with the result).
func encodeQuery(t *testing.T, conn *pgxpool.Conn, q encode.Querier, format string, opts encode.Options, sql string) []byte {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	rows, err := conn.Query(ctx, sql, pgx.QueryResultFormats{pgx.TextFormatCode})
	require.NoError(t, err)
	defer rows.Close()
	if q != nil {
		opts.Types, err = encode.LoadTypeInfo(ctx, q, rows.FieldDescriptions())
		require.NoError(t, err)
	}
	enc, err := encode.New(format, &buf, opts)
	require.NoError(t, err)
	require.NoError(t, enc.Begin(rows.FieldDescriptions()))
	for rows.Next() {
		require.NoError(t, enc.Row(rows.RawValues()))
	}
	require.NoError(t, rows.Err())
	require.NoError(t, enc.End())
	return buf.Bytes()
}

// copyTo returns what COPY (sql) TO STDOUT WITH (with) sends.
func copyTo(t *testing.T, conn *pgxpool.Conn, sql, with string) []byte {
	t.Helper()
	var buf bytes.Buffer
	stmt := "COPY (" + sql + ") TO STDOUT"
	if with != "" {
		stmt += " WITH (" + with + ")"
	}
	_, err := conn.Conn().PgConn().CopyTo(context.Background(), &buf, stmt)
	require.NoError(t, err, stmt)
	return buf.Bytes()
}

// acquire returns a connection of pool, released when the test ends.
func acquire(t *testing.T, pool *pgxpool.Pool) *pgxpool.Conn {
	t.Helper()
	conn, err := pool.Acquire(context.Background())
	require.NoError(t, err)
	t.Cleanup(conn.Release)
	return conn
}

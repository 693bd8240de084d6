package encode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/encode"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/internal/testsupport"
)

// jsonQueries are compared with row_to_json. Anonymous records with other
// than text fields are left out: their text carries no types (see
// TestJSONAnonymousRecord).
var jsonQueries = []string{
	`select * from enc.hard order by id`,
	`select 1 as a, 'x' as a, null::int as a, 2 as "ke""y", 3 as "back\slash", 4 as "nl
x", 5 as "é"`,
	`select row('a', null, 'b c', '', '"q"')`,
	`select c as cls, array[c] as clss from pg_catalog.pg_class c where relname in ('pg_type', 'pg_class') order by relname`,
	`select t as whole from enc.hard t where id in (1, 140, 160) order by id`,
	`select '{}'::enc.pair[] as e, array[null]::enc.pair[] as n, array[array[row(1,'a')::enc.pair]] as two`,
	`select 'infinity'::timestamptz t1, '-infinity'::timestamp t2, now() - now() as zero`,
	`select * from enc.hard where false`,
	`select from generate_series(1, 3)`,
	`select * from information_schema.columns where table_schema = 'enc' and table_name = 'hard' order by ordinal_position`,
	`select row()::enc.empty as e, row(1,'x')::enc.pair::enc.pd as d, array[1,2]::enc.posint[] as a,
		array[row(1,'y')::enc.pair::enc.pd] as da, '{"[1,2)",empty}'::int4range[] as ra,
		E'\\001'::"char" as c, E'<a>\n</a>'::xml as x, '{{"a b",NULL},{"",c}}'::text[] as t2`,
}

// jsonSettings are session settings that change values' text; the
// comparison runs under each.
var jsonSettings = []string{
	"set timezone = 'UTC'",
	"set timezone = 'Asia/Kolkata'",
	"set timezone = 'America/St_Johns'",
	"set timezone = 'Europe/Amsterdam'",
	"set timezone = 'Pacific/Chatham'",
	"set extra_float_digits = 0",
	"set intervalstyle = 'iso_8601'",
	"set bytea_output = 'escape'",
}

func TestJSONLMatchesRowToJSON(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	conn := acquire(t, pool)
	for _, set := range jsonSettings {
		t.Run(set, func(t *testing.T) {
			_, err := conn.Exec(context.Background(), set)
			require.NoError(t, err)
			defer conn.Exec(context.Background(), "reset all")
			for qi, q := range jsonQueries {
				want := testsupport.RowToJSON(t, conn, q)
				got := encodeQuery(t, conn, pool, "jsonl", encode.Options{}, q)
				require.True(t, len(got) == 0 || bytes.HasSuffix(got, []byte("\n")), "jsonl ends with a newline")
				lines := bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n"))
				if len(got) == 0 {
					lines = nil
				}
				require.Len(t, lines, len(want), "query %d: rows", qi)
				for i := range want {
					eq, diff, err := jsonEqual(want[i], lines[i])
					require.NoError(t, err, "query %d row %d", qi, i)
					assert.True(t, eq, "query %d row %d: %s\nrow_to_json: %s\nencoder:     %s", qi, i, diff, want[i], lines[i])
				}

				// json: the same objects in one array.
				arr := encodeQuery(t, conn, pool, "json", encode.Options{}, q)
				wantArr := append(append([]byte("["), bytes.Join(want, []byte(","))...), ']')
				eq, diff, err := jsonEqual(wantArr, arr)
				require.NoError(t, err, "query %d", qi)
				assert.True(t, eq, "query %d json array: %s", qi, diff)
			}
		})
	}
}

func TestJSONEmptyResult(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	conn := acquire(t, pool)
	q := `select * from enc.hard where false`
	assert.Equal(t, "[]\n", string(encodeQuery(t, conn, pool, "json", encode.Options{}, q)))
	assert.Equal(t, "", string(encodeQuery(t, conn, pool, "jsonl", encode.Options{}, q)))
}

// TestJSONBuiltinsWithoutTypeInfo: with no TypeInfo, columns of built-in
// types still match row_to_json; a composite column becomes its text as a
// string.
func TestJSONBuiltinsWithoutTypeInfo(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	conn := acquire(t, pool)
	q := `select id, t, i8, n, f8, b, tstz, ts, j, jb, ia, ta, ia2, na, tsa, ja, boxa, by, i2v, ov from enc.hard order by id`
	want := testsupport.RowToJSON(t, conn, q)
	got := encodeQuery(t, conn, nil, "json", encode.Options{}, q)
	eq, diff, err := jsonEqual(append(append([]byte("["), bytes.Join(want, []byte(","))...), ']'), got)
	require.NoError(t, err)
	assert.True(t, eq, diff)

	got = encodeQuery(t, conn, nil, "jsonl", encode.Options{}, `select row(1,'x')::enc.pair as p`)
	assert.Equal(t, `{"p":"(1,x)"}`+"\n", string(got))
}

// TestJSONAnonymousRecord documents the one case that differs from
// row_to_json: an anonymous record's fields are strings with keys f1, f2...
func TestJSONAnonymousRecord(t *testing.T) {
	pool := testdb.Pool(t)
	conn := acquire(t, pool)
	got := encodeQuery(t, conn, pool, "jsonl", encode.Options{}, `select row(1, 'a b', null, '') as r, array[row(1,2)] as ra`)
	assert.Equal(t, `{"r":{"f1":"1","f2":"a b","f3":null,"f4":""},"ra":[{"f1":"1","f2":"2"}]}`+"\n", string(got))
}

// TestJSONLOneLinePerRow: json values with line breaks stay on one line.
func TestJSONLOneLinePerRow(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	conn := acquire(t, pool)
	got := encodeQuery(t, conn, pool, "jsonl", encode.Options{}, `select * from enc.hard order by id`)
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), "select count(*) from enc.hard").Scan(&n))
	require.Len(t, lines, n)
	for _, l := range lines {
		assert.True(t, json.Valid([]byte(l)), l)
	}
}

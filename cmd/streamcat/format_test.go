package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/internal/testsupport"
)

// hardQuery has values that stress quoting and type output.
const hardQuery = `select * from (values
  (1, 'plain', 'a "quoted", value', E'line1\nline2\r\nline3', null::text, ''::text,
   'ünïcödé ☃ 日本', array[1,2,null]::int[], array['a b','c,"d"', null]::text[],
   '{"k": [1, "x"], "n": null}'::jsonb, '\x00ff10'::bytea,
   timestamptz '2024-01-02 03:04:05.5+00', timestamp '1999-12-31 23:59:59',
   12345678901234567890.50::numeric, true, E'tab\there', E'back\\slash', '\.'::text, 9007199254740993::int8),
  (2, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null),
  (3, ' lead', 'trail ', '"', ',', 'NULL', '\N', '{}'::int[], '{}'::text[], '[]'::jsonb, ''::bytea,
   timestamptz 'infinity', timestamp '-infinity', 'NaN'::numeric, false, '', '', '', -1)
) t(id, a, b, c, d, e, f, ints, texts, j, by, tstz, ts, num, flag, tab, bs, dot, big)`

const emptyQuery = `select 1 as a, 'x' as b where false`

// bigQuery has values over the encoders' 1 MiB threshold, which are
// written in pieces: quoted and escaped ones, multi-byte UTF-8, and a plain
// one csv writes straight through.
const bigQuery = `select 1 as id, repeat(E'ab"c\\d\ne\tf,\u00fc\u2603x', 100000) as v,
  repeat('plain', 300000) as p, 'small' as s`

func copyOut(t *testing.T, query, with string) string {
	t.Helper()
	pool := testdb.Pool(t)
	conn, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var buf bytes.Buffer
	if _, err := conn.Conn().PgConn().CopyTo(context.Background(), &buf, "COPY ("+query+") TO STDOUT"+with); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestCopyIdentity(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	for _, tc := range []struct {
		name string
		args []string
		with string
	}{
		{"csv", []string{"--format", "csv"}, " WITH (FORMAT csv)"},
		{"csv header", []string{"--header"}, " WITH (FORMAT csv, HEADER)"},
		{"csv null delimiter", []string{"--null", "NULL", "--delimiter", ";"}, " WITH (FORMAT csv, NULL 'NULL', DELIMITER ';')"},
		{"tsv", []string{"--format", "tsv"}, ""},
		{"tsv header", []string{"--format", "tsv", "--header"}, " WITH (HEADER)"},
		{"tsv empty null", []string{"--format", "tsv", "--null", ""}, " WITH (NULL '')"},
	} {
		for qname, q := range map[string]string{"hard": hardQuery, "empty": emptyQuery, "big": bigQuery} {
			t.Run(tc.name+"/"+qname, func(t *testing.T) {
				want := copyOut(t, q, tc.with)
				r := sc(t, append(tc.args, q)...)
				wantOK(t, r)
				if r.stdout != want {
					t.Errorf("output differs from COPY\n got: %q\nwant: %q", r.stdout, want)
				}
			})
		}
	}
}

func decodeAll(t *testing.T, data string) []any {
	t.Helper()
	var out []any
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("bad JSON %q: %v", data, err)
		}
		out = append(out, v)
	}
	return out
}

// rowToJSONValues decodes row_to_json of every row of query, the oracle of the
// jsonl format.
func rowToJSONValues(t *testing.T, query string) []any {
	t.Helper()
	var out []any
	for _, line := range testsupport.RowToJSON(t, testdb.Pool(t), query) {
		out = append(out, decodeAll(t, string(line))...)
	}
	return out
}

func TestJSONLMatchesRowToJSON(t *testing.T) {
	want := rowToJSONValues(t, hardQuery)
	r := sc(t, "--format", "jsonl", hardQuery)
	wantOK(t, r)
	scan := bufio.NewScanner(strings.NewReader(r.stdout))
	var got []any
	for scan.Scan() {
		got = append(got, decodeAll(t, scan.Text())...) // one object per line
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("jsonl differs from row_to_json\n got: %v\nwant: %v", got, want)
	}

	r = sc2(t, "--format", "json", hardQuery)
	var arr []any
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	if err := dec.Decode(&arr); err != nil {
		t.Fatalf("json: %v in %q", err, r.stdout)
	}
	if !reflect.DeepEqual(arr, want) {
		t.Errorf("json differs from row_to_json\n got: %v\nwant: %v", arr, want)
	}

	want = rowToJSONValues(t, bigQuery)
	got = decodeAll(t, sc2(t, "--format", "jsonl", bigQuery).stdout)
	if !reflect.DeepEqual(got, want) {
		t.Error("jsonl of big values differs from row_to_json")
	}

	r = sc2(t, "--format", "json", emptyQuery)
	if r.stdout != "[]\n" {
		t.Errorf("empty json: %q", r.stdout)
	}
	r = sc2(t, "--format", "jsonl", emptyQuery)
	if r.stdout != "" {
		t.Errorf("empty jsonl: %q", r.stdout)
	}
}

// sc2 is sc that also requires success.
func sc2(t *testing.T, args ...string) result {
	t.Helper()
	r := sc(t, args...)
	wantOK(t, r)
	return r
}

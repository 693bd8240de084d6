package encode_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"

	"github.com/streamcat/streamcat/encode"
	"github.com/streamcat/streamcat/internal/testdb"
)

// copyQueries are the results compared with COPY: the whole table, single
// columns (COPY quotes `\.` only when there is one column), odd column
// names, and empty results.
var copyQueries = []string{
	`select * from enc.hard order by id`,
	`select t from enc.hard order by id`,
	`select t, id from enc.hard order by id`,
	`select '\.'::text as "\."`,
	`select '\.'::text as "\.", 1 as x`,
	`select ''::text as a`,
	`select null::text as a`,
	`select 1 as "a,b", 2 as "q""x", 3 as "tab	x", 4 as "back\slash", 5 as "NULL", 6 as "\N", 7 as "x|y", 8 as "z;w", 9 as "nl
x", 10 as "a", 11 as "a", 12 as " "`,
	`select * from enc.hard where false`,
	`select t from enc.hard where false`,
	// Rows larger than the output buffer and than the kept row buffer.
	`select repeat(E'ab,"c\\d\te\r\nf  ', 400000) as big, g from generate_series(1, 2) g`,
	`select repeat('x', 70000) as big`,
	`select from generate_series(1, 3)`,
}

// copyOptions are the COPY option lists compared, as the encoder Options
// they correspond to.
type copyCase struct {
	format, with string
	opts         encode.Options
}

var copyCases = []copyCase{
	{"csv", "FORMAT csv", encode.Options{}},
	{"csv", "FORMAT csv, HEADER", encode.Options{Header: true}},
	{"csv", "FORMAT csv, NULL 'NULL'", encode.Options{Null: "NULL"}},
	{"csv", `FORMAT csv, NULL '\N', HEADER`, encode.Options{Null: `\N`, Header: true}},
	{"csv", "FORMAT csv, NULL ''", encode.Options{Null: "", NullSet: true}},
	{"csv", "FORMAT csv, DELIMITER '|'", encode.Options{Delimiter: '|'}},
	{"csv", "FORMAT csv, DELIMITER ';', NULL 'x', HEADER", encode.Options{Delimiter: ';', Null: "x", Header: true}},
	{"csv", "FORMAT csv, DELIMITER E'\\t'", encode.Options{Delimiter: '\t'}},
	{"csv", "FORMAT csv, DELIMITER 'a', HEADER", encode.Options{Delimiter: 'a', Header: true}},
	{"csv", "FORMAT csv, DELIMITER E'\\\\'", encode.Options{Delimiter: '\\'}},
	{"csv", "FORMAT csv, DELIMITER ' ', NULL 'NUL'", encode.Options{Delimiter: ' ', Null: "NUL"}},
	{"tsv", "", encode.Options{}},
	{"tsv", "HEADER", encode.Options{Header: true}},
	{"tsv", "NULL ''", encode.Options{NullSet: true}},
	{"tsv", "NULL 'NULL', HEADER", encode.Options{Null: "NULL", Header: true}},
	{"tsv", "DELIMITER '|'", encode.Options{Delimiter: '|'}},
	{"tsv", "DELIMITER ',', NULL '', HEADER", encode.Options{Delimiter: ',', NullSet: true, Header: true}},
	{"tsv", "DELIMITER ';'", encode.Options{Delimiter: ';'}},
	{"tsv", "DELIMITER E'\\x01'", encode.Options{Delimiter: 0x01}},
	{"tsv", "DELIMITER E'\\x0b', HEADER", encode.Options{Delimiter: '\v', Header: true}},
	{"tsv", "DELIMITER 'X'", encode.Options{Delimiter: 'X'}},
}

// plainQueries hold the types whose values the encoders copy unscanned
// (plainAlphabets), at their edges and next to NULL; plainCases add
// delimiters and NULL strings drawn from those types' own bytes, which
// make COPY quote or escape them after all.
var plainQueries = []string{
	`select * from (values
		(1::int2, 1::int4, 1::int8, 1::oid, 1::float4, 1::float8, 1::numeric, true, 'abcdef01-2345-6789-abcd-ef0123456789'::uuid),
		(-32768, -2147483648, -9223372036854775808, 4294967295, 'NaN', '-Infinity', 'NaN', false, '00000000-0000-0000-0000-000000000000'),
		(0, 0, 0, 0, '-1.5e-05', '1.5e+300', '-Infinity', null, null),
		(null, null, null, null, 'Infinity', 'NaN', '-0.000000001', true, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
	) as t(i2, i4, i8, o, f4, f8, n, b, u)`,
	`select 1::int4 as one`,
	`select 't'::bool as t`,
	`select * from enc.hard order by id`,
}

var plainCases = append([]copyCase{
	{"csv", "FORMAT csv, DELIMITER '-'", encode.Options{Delimiter: '-'}},
	{"csv", "FORMAT csv, DELIMITER '.', NULL '1'", encode.Options{Delimiter: '.', Null: "1"}},
	{"csv", "FORMAT csv, DELIMITER 'e', NULL 't'", encode.Options{Delimiter: 'e', Null: "t"}},
	{"csv", "FORMAT csv, DELIMITER 'f', NULL 'NaN'", encode.Options{Delimiter: 'f', Null: "NaN"}},
	{"csv", "FORMAT csv, DELIMITER '0'", encode.Options{Delimiter: '0'}},
	{"tsv", "DELIMITER '-', NULL '1'", encode.Options{Delimiter: '-', Null: "1"}},
	{"tsv", "DELIMITER 'N', NULL 'x'", encode.Options{Delimiter: 'N', Null: "x"}},
}, copyCases...)

// TestCopyIdentity checks that csv and tsv are byte-identical to COPY for
// every query and option list.
func TestCopyIdentity(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	conn := acquire(t, pool)
	compareCopy(t, conn, copyCases, copyQueries)
}

// TestCopyIdentityPlainTypes checks the values copied unscanned against
// COPY, under every delimiter and NULL string.
func TestCopyIdentityPlainTypes(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	compareCopy(t, acquire(t, pool), plainCases, plainQueries)
}

func compareCopy(t *testing.T, conn *pgxpool.Conn, cases []copyCase, queries []string) {
	for _, c := range cases {
		for qi, q := range queries {
			name := fmt.Sprintf("%s(%s)/q%d", c.format, c.with, qi)
			t.Run(name, func(t *testing.T) {
				want := copyTo(t, conn, q, c.with)
				got := encodeQuery(t, conn, nil, c.format, c.opts, q)
				if !assert.Equal(t, string(want), string(got)) {
					diffLines(t, want, got)
				}
			})
		}
	}
}

// TestCopyIdentityTimeZones repeats the whole-table comparison under other
// session settings that change the values' text.
func TestCopyIdentitySettings(t *testing.T) {
	pool := testdb.Pool(t)
	fixture(t, pool)
	conn := acquire(t, pool)
	for _, set := range []string{
		"set timezone = 'Asia/Kolkata'",
		"set timezone = 'Europe/Amsterdam'",
		"set datestyle = 'SQL, DMY'",
		"set intervalstyle = 'iso_8601'",
		"set bytea_output = 'escape'",
		"set extra_float_digits = 0",
	} {
		t.Run(set, func(t *testing.T) {
			_, err := conn.Exec(t.Context(), set)
			assert.NoError(t, err)
			defer conn.Exec(t.Context(), "reset all")
			for _, c := range []copyCase{copyCases[0], {"tsv", "", encode.Options{}}} {
				q := copyQueries[0]
				want := copyTo(t, conn, q, c.with)
				got := encodeQuery(t, conn, nil, c.format, c.opts, q)
				if !assert.Equal(t, string(want), string(got), c.format) {
					diffLines(t, want, got)
				}
			}
		})
	}
}

// diffLines logs the first differing line of two outputs.
func diffLines(t *testing.T, want, got []byte) {
	t.Helper()
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			t.Logf("first difference at line %d:\nCOPY:    %q\nencoder: %q", i+1, a, b)
			return
		}
	}
}

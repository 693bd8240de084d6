package split

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse_AcceptsOneTableScans(t *testing.T) {
	for _, c := range []struct{ sql, head, cond, table string }{
		{"select * from t", "select * from t", "", "t"},
		{"SELECT a, b FROM public.t x WHERE a > $1;", "SELECT a, b FROM public.t x ", " a > $1", "public.t"},
		{`select (select max(1) from u), 'from' from "My T" as m where a is distinct from 'x;'`, `select (select max(1) from u), 'from' from "My T" as m `, ` a is distinct from 'x;'`, `"My T"`},
		{"select extract(year from d) from only t where b or c -- note", "select extract(year from d) from only t ", " b or c", "t"},
		{"table s.t;", "SELECT * FROM s.t", "", "s.t"},
	} {
		sh, err := Parse(c.sql)
		require.NoError(t, err, c.sql)
		assert.Equal(t, c.head, sh.head, c.sql)
		assert.Equal(t, c.cond, sh.cond, c.sql)
		assert.Equal(t, c.table, sh.table, c.sql)
	}
}

func TestParse_RefusesOtherShapes(t *testing.T) {
	for _, c := range []struct{ sql, why string }{
		{"select * from t order by a", "ORDER BY"},
		{"select * from t where a > 1 limit 5", "LIMIT"},
		{"select distinct a from t", "DISTINCT"},
		{"select * from t, u", "more than one table"},
		{"select * from t join u using (a)", "join"}, {"select * from t x y", "FROM has more than a table"},
		{"select a, count(*) from t group by a", "GROUP BY"},
		{"with x as (select 1) select * from x", "not SELECT or TABLE"},
		{"select * from t union select * from u", "UNION"},
		{"select * from t for update", "locking clause"},
		{"select 1", "no FROM"},
		{"select * from t; select 1", "more than one statement"},
		{"select * from (select * from t) s", "FROM does not name a table"},
		{"select * from t where", "no condition"},
		{"select 'unterminated from t", "unterminated"},
		{"insert into t values (1) returning *", "not SELECT or TABLE"},
	} {
		_, err := Parse(c.sql)
		require.Error(t, err, c.sql)
		assert.True(t, errors.Is(err, ErrShape), c.sql)
		assert.Contains(t, err.Error(), c.why, c.sql)
	}
}

func TestShape_WithAddsThePredicateAndOrder(t *testing.T) {
	sh, err := Parse("select a from t where a = 1 or a = 2")
	require.NoError(t, err)
	assert.Equal(t, "select a from t  WHERE ( a = 1 or a = 2\n) AND ctid < '(4,0)'::tid", sh.with("ctid < '(4,0)'::tid", ""))
	sh, err = Parse("table t")
	require.NoError(t, err)
	assert.Equal(t, "SELECT * FROM t WHERE k >= $1\nORDER BY \"t\".\"k\"", sh.with("k >= $1", `"t"."k"`))
}

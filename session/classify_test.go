package session_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/streamcat/streamcat/session"
)

func TestIsReadOnly(t *testing.T) {
	cases := []struct {
		sql  string
		want bool
	}{
		// plain reads
		{"select 1", true},
		{"SELECT * FROM t WHERE id = $1", true},
		{"  \n\tselect 1;", true},
		{"select 1;;", true},
		{"Select count(*) From t", true},
		{"values (1), (2)", true},
		{"table t", true},
		{"TABLE public.t", true},
		{"show search_path", true},
		{"SHOW ALL", true},
		{"(select 1) union (select 2)", true},
		{"with x as (select 1) select * from x", true},
		{"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n < 5) SELECT n FROM r", true},
		{"select substring('abc' from 1 for 2)", true},
		{"select share from portfolio", true},
		{"select x.forward from x", true},
		{"select a$b from t", true},
		{"select 1.5e-3, .5, 0x1f", true},
		{"select now()::date", true},
		{"select array[1,2][1]", true},
		{"select pg_is_in_recovery()", true},
		{"select currval_ish from t", true},       // a column, not currval(...)
		{"select nextval from t", true},           // a column named nextval, not a call
		{"select lo_id from t where x = 1", true}, // lo_ prefix but no call

		// leading comments
		{"-- a comment\nselect 1", true},
		{"/* a comment */ select 1", true},
		{"/* outer /* nested */ still comment delete */ select 1", true},
		{"-- delete from t\nselect 1", true},
		{"/* insert */ -- update\n  /* merge */ select 1", true},
		{"-- just a comment", false},
		{"", false},
		{"   ", false},

		// keywords inside literals, quoted identifiers and comments do not count
		{"select 'for update'", true},
		{"select 'insert into t values (1)'", true},
		{"select 'it''s for update'", true},
		{"select E'it\\'s for update'", true},
		{"select e'\\\\' , 'delete'", true},
		{"select $$ delete from t $$", true},
		{"select $tag$ for update $ $$ $tag$", true},
		{"select $a$ $b$ insert $b$ $a$", true},
		{"select \"update\" from t", true},
		{"select \"for\" update from t", false}, // a bare update counts wherever it is: conservative
		{"select \"into\", \"returning\" from t", true},
		{"select \"a\"\"delete\" from t", true},
		{"select 1 -- for update", true},
		{"select 1 /* for update */", true},
		{"select x from t where y = 'nextval(1)'", true},
		{"select B'1010', X'ff', N'text'", true},

		// EXPLAIN: plans without running, unless ANALYZE
		{"explain select 1", true},
		{"EXPLAIN (FORMAT JSON) SELECT 1", true},
		{"explain insert into t values (1)", true},
		{"explain verbose delete from t", true},
		{"explain analyze select 1", true},
		{"EXPLAIN ANALYSE SELECT 1", true},
		{"explain (analyze, buffers) select * from t", true},
		{"explain analyze insert into t values (1)", false},
		{"explain analyze verbose delete from t", false},
		{"explain (analyze) update t set x = 1", false},
		{"explain (analyze false) update t set x = 1", false}, // conservative
		{"explain (format json, analyze true) select nextval('s')", false},
		{"explain (analyze select 1", false},

		// locking reads
		{"select * from t for update", false},
		{"SELECT * FROM t FOR UPDATE SKIP LOCKED", false},
		{"select * from t for no key update", false},
		{"select * from t for share", false},
		{"select * from t FOR KEY SHARE", false},
		{"select * from (select * from t for update) s", false},
		{"select 'x' from t for update of t nowait", false},
		{"select pg_is_in_recovery() from t for update -- trailing comment", false},

		// data-modifying CTEs, RETURNING, INTO
		{"with x as (delete from t returning *) select * from x", false},
		{"WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM x", false},
		{"with x as (update t set a = 1) select 1", false},
		{"with x as (merge into t using s on true when matched then delete) select 1", false},
		{"with a as (select 1), b as (delete from t) select 1", false},
		{"select * into new_table from t", false},
		{"select 1 as x into temp t2", false},

		// writer and session-state functions
		{"select nextval('seq')", false},
		{"SELECT NEXTVAL('seq')", false},
		{"select pg_catalog.nextval('seq')", false},
		{"select \"nextval\"('seq')", false},
		{"select setval('seq', 10)", false},
		{"select currval('seq')", false},
		{"select lastval()", false},
		{"select set_config('a.b', 'c', false)", false},
		{"select pg_advisory_lock(1)", false},
		{"select pg_try_advisory_xact_lock(1, 2)", false},
		{"select pg_advisory_unlock_all()", false},
		{"select txid_current()", false},
		{"select pg_current_xact_id()", false},
		{"select pg_notify('c', 'p')", false},
		{"select lo_create(0)", false},
		{"select pg_terminate_backend(123)", false},
		{"select x from t where y = nextval ('s')", false},
		{"values (nextval('s'))", false},

		// not a read at all
		{"insert into t values (1)", false},
		{"INSERT INTO t SELECT * FROM s", false},
		{"update t set x = 1", false},
		{"delete from t", false},
		{"merge into t using s on t.id = s.id when matched then do nothing", false},
		{"create table t (x int)", false},
		{"drop table t", false},
		{"truncate t", false},
		{"set search_path = x", false},
		{"begin", false},
		{"commit", false},
		{"lock table t", false},
		{"call p()", false},
		{"do $$ begin perform 1; end $$", false},
		{"copy t to stdout", false},
		{"vacuum t", false},
		{"analyze t", false},
		{"refresh materialized view v", false},
		{"listen c", false},
		{"prepare p as select 1", false},
		{"execute p", false},
		{"fetch 10 from c", false},
		{"declare c cursor for select 1", false},
		{"(insert into t values (1))", false},
		{"/* select */ insert into t values (1)", false},
		{"-- select\ninsert into t values (1)", false},

		// more than one statement
		{"select 1; delete from t", false},
		{"select 1; select 2", false},
		{"select 1; -- only a comment after\n", true},

		// cannot lex with certainty
		{"select 'unterminated", false},
		{"select \"unterminated", false},
		{"select $$unterminated", false},
		{"select $a$ unterminated $b$", false},
		{"select 1 /* unterminated", false},
		{"select 1 /* /* nested unterminated */", false},
		{"select 'a\\' for update", false}, // backslash: standard_conforming_strings decides
		{"select E'unterminated \\'", false},

		// parameters are not dollar quotes
		{"select $1, $2 from t where a = $3", true},
		{"select $1 where $2::text = 'x$'", true},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, session.IsReadOnly(tc.sql), "%q", tc.sql)
	}
}

func TestPrimaryReplica_Route(t *testing.T) {
	none := session.NewPrimaryReplica(nil)
	one := session.NewPrimaryReplica(nil, nil) // pools are not touched by Route

	assert.Equal(t, session.TargetReplica, one.Route(session.Statement{SQL: "select 1"}))
	assert.Equal(t, session.TargetPrimary, one.Route(session.Statement{SQL: "insert into t values (1)"}))
	assert.Equal(t, session.TargetPrimary, one.Route(session.Statement{SQL: "select 1", Target: session.TargetPrimary}))
	assert.Equal(t, session.TargetReplica, one.Route(session.Statement{SQL: "insert into t values (1)", Target: session.TargetReplica}),
		"OnReplica: the caller vouches")

	assert.Equal(t, session.TargetPrimary, none.Route(session.Statement{SQL: "select 1"}), "no replica: the primary")
	assert.Equal(t, session.TargetPrimary, none.Route(session.Statement{SQL: "select 1", Target: session.TargetReplica}))
	assert.Len(t, one.Replicas(), 1)
}

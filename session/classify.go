package session

import (
	"strings"

	"github.com/streamcat/streamcat/internal/sqllex"
)

// IsReadOnly reports whether sql is one statement that only reads, so a
// hot-standby replica can run it: the router's TargetAuto decision (see
// PrimaryReplica).
//
// It is a conservative lexical check, not a parser. sql must be a single
// SELECT, WITH, VALUES or TABLE statement (leading parentheses allowed), a
// SHOW, or an EXPLAIN without ANALYZE (EXPLAIN ANALYZE runs its statement,
// so that statement must pass too), and it must not anywhere:
//
//   - lock rows (FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE);
//   - modify data (INSERT, UPDATE, DELETE or MERGE, e.g. in a WITH);
//   - have RETURNING or INTO (SELECT ... INTO creates a table);
//   - call an obvious writer or session-state function: nextval, setval,
//     currval, lastval, set_config, the pg_advisory and pg_try_advisory
//     locks, txid_current, pg_current_xact_id, pg_notify, lo_* and a few
//     administrative functions.
//
// Leading whitespace and comments are skipped; keywords inside string
// literals (E'...' and dollar-quoted ones included), quoted identifiers and
// comments are ignored. Anything it cannot lex with certainty (an
// unterminated literal or comment, a backslash in a standard string, whose
// meaning depends on standard_conforming_strings) or a second statement
// after a semicolon makes it answer false. A function the check does not
// know may still write: such statements need OnPrimary.
func IsReadOnly(sql string) bool {
	toks, ok := sqllex.Lex(sql)
	if !ok {
		return false
	}
	// one statement: trailing semicolons only
	for len(toks) > 0 && toks[len(toks)-1].Is(';') {
		toks = toks[:len(toks)-1]
	}
	for _, t := range toks {
		if t.Is(';') {
			return false
		}
	}
	return readOnlyStatement(toks)
}

// readOnlyStatement classifies one statement's tokens.
func readOnlyStatement(toks []sqllex.Token) bool {
	i := 0
	for i < len(toks) && toks[i].Is('(') {
		i++
	}
	if i >= len(toks) || toks[i].Kind != sqllex.Word {
		return false
	}
	switch toks[i].Lower() {
	case "select", "with", "values", "table":
	case "show":
		return i == 0
	case "explain":
		if i != 0 {
			return false
		}
		return readOnlyExplain(toks[1:])
	default:
		return false
	}
	return !writes(toks)
}

// readOnlyExplain classifies what follows EXPLAIN: its options, then the
// statement, which only runs with ANALYZE.
func readOnlyExplain(toks []sqllex.Token) bool {
	analyze := false
	i := 0
	if i < len(toks) && toks[i].Is('(') {
		// EXPLAIN (option [value], ...): any mention of ANALYZE counts,
		// even ANALYZE false
		depth := 0
		for ; i < len(toks); i++ {
			switch {
			case toks[i].Is('('):
				depth++
			case toks[i].Is(')'):
				depth--
			case isAnalyze(toks[i]):
				analyze = true
			}
			if depth == 0 {
				i++
				break
			}
		}
		if depth != 0 {
			return false
		}
	} else {
		// EXPLAIN [ANALYZE] [VERBOSE] statement
		for ; i < len(toks) && toks[i].Kind == sqllex.Word; i++ {
			if isAnalyze(toks[i]) {
				analyze = true
			} else if toks[i].Lower() != "verbose" {
				break
			}
		}
	}
	if !analyze {
		return true // only plans: nothing runs
	}
	return readOnlyStatement(toks[i:])
}

func isAnalyze(t sqllex.Token) bool {
	if t.Kind != sqllex.Word {
		return false
	}
	w := t.Lower()
	return w == "analyze" || w == "analyse"
}

// writes reports whether a statement that starts like a read writes or locks.
func writes(toks []sqllex.Token) bool {
	for i, t := range toks {
		if t.Kind != sqllex.Word && t.Kind != sqllex.QuotedIdent {
			continue
		}
		name := t.Lower()
		if t.Kind == sqllex.Word {
			switch name {
			case "insert", "update", "delete", "merge", "returning", "into":
				return true
			case "for":
				// FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE
				if i+1 < len(toks) && toks[i+1].Kind == sqllex.Word {
					switch toks[i+1].Lower() {
					case "update", "share", "no", "key":
						return true
					}
				}
			}
		}
		if i+1 < len(toks) && toks[i+1].Is('(') && writerFunction(name) {
			return true
		}
	}
	return false
}

// writerFunction reports whether a function of this (lower-case) name
// writes, takes locks, or reads state that only the primary's session has.
func writerFunction(name string) bool {
	switch name {
	case "nextval", "setval", "currval", "lastval", "set_config",
		"txid_current", "pg_current_xact_id", "pg_notify",
		"pg_switch_wal", "pg_create_restore_point", "pg_promote",
		"pg_reload_conf", "pg_rotate_logfile", "pg_cancel_backend", "pg_terminate_backend",
		"pg_logical_emit_message", "pg_drop_replication_slot", "pg_replication_slot_advance",
		"pg_import_system_collations", "dblink_exec":
		return true
	}
	for _, prefix := range []string{"pg_advisory", "pg_try_advisory", "lo_", "pg_stat_reset", "pg_create_"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

package main

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// stmtName is the prepared statement a run describes and then executes on
// its one connection: the server parses QUERY once.
const stmtName = "streamcat"

// describe prepares query on conn and checks, before anything runs, that it
// is one statement that returns rows and takes as many parameters as were
// given. A statement that returns no rows (DDL, DML without RETURNING,
// COPY, SET, ...) is refused rather than run: streamcat is for reading, and
// running INSERT or DROP by surprise with exit 0 and empty output is worse
// than saying no. The server describes the statement without running it.
func describe(ctx context.Context, conn *pgx.Conn, query string, nparams int) (*pgconn.StatementDescription, error) {
	sd, err := conn.Prepare(ctx, stmtName, query)
	if err != nil {
		if isMultiStatement(err) {
			return nil, usagef("QUERY must be exactly one statement")
		}
		return nil, err
	}
	if len(sd.Fields) == 0 {
		kw := firstKeyword(query)
		if kw == "COPY" {
			return nil, usagef("QUERY must return rows; COPY does not: give its query instead (COPY (SELECT ...) TO STDOUT WITH (FORMAT csv) is streamcat --format csv 'SELECT ...')")
		}
		switch kw {
		case "SELECT", "VALUES", "TABLE", "WITH":
			return nil, usagef("QUERY must return rows with at least one column; this %s has no result columns", kw)
		case "":
			kw = "this statement"
		}
		return nil, usagef("QUERY must return rows; %s returns none (streamcat does not run statements without a result; use psql for those)", kw)
	}
	if len(sd.ParamOIDs) != nparams {
		return nil, usagef("QUERY expects %d parameter(s), got %d (-v/--param binds $1, $2, ... in order)", len(sd.ParamOIDs), nparams)
	}
	return sd, nil
}

// isMultiStatement reports the server refusing to prepare several
// statements. That error shares SQLSTATE 42601 with syntax errors, which
// always carry a position; it has none, and comes from the routine that
// parses the Parse message. Neither depends on lc_messages, unlike the
// message text.
func isMultiStatement(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42601" && pe.Position == 0 &&
		(pe.Routine == "" || pe.Routine == "exec_parse_message")
}

// firstKeyword returns the statement's first word in upper case, after
// white space and comments; "" when there is none.
func firstKeyword(q string) string {
	for {
		q = strings.TrimLeftFunc(q, unicode.IsSpace)
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return ""
			}
			q = q[i+2:]
		case strings.HasPrefix(q, "("):
			q = q[1:]
		default:
			end := strings.IndexFunc(q, func(r rune) bool { return !unicode.IsLetter(r) })
			if end < 0 {
				end = len(q)
			}
			return strings.ToUpper(q[:end])
		}
	}
}

package split

import (
	"errors"
	"fmt"
	"strings"

	"github.com/streamcat/streamcat/internal/sqllex"
)

// ErrShape is wrapped by every refusal to split a query: one that is not a
// plain scan of one table, whose slices could together return other rows
// than the query itself.
var ErrShape = errors.New("this query cannot be split into slices without changing its result")

// shapeError is a refusal naming what in the query is the problem.
func shapeError(format string, args ...any) error {
	return fmt.Errorf("%w: %s (a split query must be SELECT columns FROM one table [WHERE condition], nothing else)", ErrShape, fmt.Sprintf(format, args...))
}

// Shape is a query that Parse found to have the one form split accepts:
//
//	SELECT select-list FROM table [[AS] alias] [WHERE condition]
//	TABLE table
//
// with an optional trailing semicolon. The select list and the condition
// may hold any expression (subqueries in parentheses included); nothing may
// follow the condition. Plan then checks with the server that the query is
// executed as a scan of that one table (no aggregate, window function,
// DISTINCT, set-returning function, LIMIT, sort or join hides in it).
type Shape struct {
	sql   string // the query as given (without a trailing semicolon)
	head  string // SELECT select-list FROM table [alias], verbatim
	cond  string // the WHERE condition verbatim, "" when there is none
	table string // the table's name as written after FROM
}

// SQL returns the query as Parse was given it, without a trailing semicolon.
func (s *Shape) SQL() string { return s.sql }

// refused are the keywords that, outside parentheses, make a statement
// something else than one table's filtered scan.
var refused = map[string]string{
	"distinct": "DISTINCT", "into": "SELECT INTO", "join": "a join", "group": "GROUP BY",
	"having": "HAVING", "window": "WINDOW", "order": "ORDER BY", "limit": "LIMIT",
	"offset": "OFFSET", "fetch": "FETCH", "for": "a locking clause (FOR UPDATE/SHARE)",
	"union": "UNION", "intersect": "INTERSECT", "except": "EXCEPT", "tablesample": "TABLESAMPLE",
	"lateral": "LATERAL", "returning": "RETURNING", "natural": "a join", "cross": "a join",
}

// Parse checks, from the text alone, that sql has the form Shape describes,
// and finds where a condition can be added. It costs one pass over the
// text. A refusal wraps ErrShape and names what was found.
func Parse(sql string) (*Shape, error) {
	toks, ok := sqllex.Lex(sql)
	if !ok {
		return nil, shapeError("the text has an unterminated literal or comment, or a backslash in a standard string")
	}
	for len(toks) > 0 && toks[len(toks)-1].Is(';') {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return nil, shapeError("the query is empty")
	}
	body := sql[:toks[len(toks)-1].End]
	if toks[0].IsWord("table") {
		return parseTable(body, toks)
	}
	if !toks[0].IsWord("select") {
		return nil, shapeError("it starts with %q, not SELECT or TABLE", toks[0].Text)
	}
	from, where := -1, -1
	depth := 0
	for i, t := range toks {
		switch {
		case t.Is('('), t.Is('['):
			depth++
		case t.Is(')'), t.Is(']'):
			depth--
		case depth > 0:
		case t.Is(';'):
			return nil, shapeError("it holds more than one statement")
		case t.Is(',') && from >= 0 && where < 0:
			return nil, shapeError("it reads from more than one table")
		case t.Kind != sqllex.Word:
		case t.IsWord("from") && where >= 0:
			// IS [NOT] DISTINCT FROM in the condition
		case t.IsWord("distinct") && where >= 0:
		case t.IsWord("from"):
			if from >= 0 {
				return nil, shapeError("FROM appears twice")
			}
			from = i
		case t.IsWord("where"):
			if from < 0 || where >= 0 {
				return nil, shapeError("WHERE where it is not expected")
			}
			where = i
		case refused[t.Lower()] != "":
			return nil, shapeError("it has %s", refused[t.Lower()])
		}
	}
	if from < 0 {
		return nil, shapeError("it has no FROM")
	}
	end := len(toks)
	if where >= 0 {
		end = where
	}
	table, err := checkFrom(body, toks[from+1:end])
	if err != nil {
		return nil, err
	}
	s := &Shape{sql: body, head: body, table: table}
	if where >= 0 {
		s.head = body[:toks[where].Start]
		s.cond = body[toks[where].End:]
		if where == len(toks)-1 {
			return nil, shapeError("WHERE has no condition")
		}
	}
	return s, nil
}

// checkFrom accepts what FROM names: a possibly qualified table name, then
// an optional alias ([AS] name). ONLY in front is allowed. It returns the
// name as written.
func checkFrom(body string, toks []sqllex.Token) (string, error) {
	if len(toks) > 0 && toks[0].IsWord("only") {
		toks = toks[1:]
	}
	ident := func(t sqllex.Token) bool { return t.Kind == sqllex.Word || t.Kind == sqllex.QuotedIdent }
	i := 0
	for i < len(toks) && ident(toks[i]) {
		i++
		if i < len(toks) && toks[i].Is('.') {
			i++
			continue
		}
		break
	}
	if i == 0 || toks[i-1].Is('.') {
		return "", shapeError("FROM does not name a table")
	}
	name := body[toks[0].Start:toks[i-1].End]
	if i < len(toks) && toks[i].IsWord("as") {
		i++
	}
	if i < len(toks) && ident(toks[i]) {
		i++
	}
	if i < len(toks) {
		return "", shapeError("FROM has more than a table and an alias (%q)", toks[i].Text)
	}
	return name, nil
}

// parseTable accepts TABLE name.
func parseTable(body string, toks []sqllex.Token) (*Shape, error) {
	table, err := checkFrom(body, toks[1:])
	if err != nil || table != body[toks[1].Start:] {
		return nil, shapeError("TABLE must be followed by a table name only")
	}
	return &Shape{sql: body, head: "SELECT * FROM " + table, table: table}, nil
}

// with returns the query with pred added to its condition and, when orderBy
// is not empty, ORDER BY orderBy after it.
func (s *Shape) with(pred, orderBy string) string {
	var b strings.Builder
	b.WriteString(s.head)
	switch {
	case pred == "" && s.cond != "":
		b.WriteString(" WHERE")
		b.WriteString(s.cond)
	case pred != "" && s.cond != "":
		b.WriteString(" WHERE (")
		b.WriteString(s.cond)
		b.WriteString("\n) AND ")
		b.WriteString(pred)
	case pred != "":
		b.WriteString(" WHERE ")
		b.WriteString(pred)
	}
	if orderBy != "" {
		b.WriteString("\nORDER BY ")
		b.WriteString(orderBy)
	}
	return b.String()
}

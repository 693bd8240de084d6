package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// serverDetail returns the lines psql prints after a server error's message:
// the position in QUERY as "LINE n: ..." with a caret under the spot, then
// DETAIL, HINT and CONTEXT. It is empty when err holds no *pgconn.PgError.
func serverDetail(err error, query string) []string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	var out []string
	if pe.Position > 0 {
		out = append(out, positionLines(query, int(pe.Position))...)
	}
	for _, f := range []struct{ name, text string }{{"DETAIL", pe.Detail}, {"HINT", pe.Hint}, {"CONTEXT", pe.Where}} {
		if f.text != "" {
			out = append(out, f.name+":  "+strings.ReplaceAll(f.text, "\n", "\n"+strings.Repeat(" ", len(f.name)+3)))
		}
	}
	return out
}

// maxLineShown is how many characters of a long query line are shown
// around the error position.
const maxLineShown = 72

// positionLines marks the 1-based character position pos in query as psql
// does: the line holding it, prefixed "LINE n: ", and a caret under it. A
// long line is cut around the position, with "..." where text is left out.
func positionLines(query string, pos int) []string {
	runes := []rune(query)
	if pos > len(runes)+1 {
		return nil
	}
	idx := pos - 1
	start, lineNo := 0, 1
	for i := 0; i < idx && i < len(runes); i++ {
		if runes[i] == '\n' {
			start, lineNo = i+1, lineNo+1
		}
	}
	end := start
	for end < len(runes) && runes[end] != '\n' && runes[end] != '\r' {
		end++
	}
	line := []rune(strings.ReplaceAll(string(runes[start:end]), "\t", " "))
	col := idx - start
	prefix, suffix := "", ""
	if len(line) > maxLineShown {
		from := max(0, min(col-maxLineShown/2, len(line)-maxLineShown))
		to := min(len(line), from+maxLineShown)
		if from > 0 {
			prefix = "..."
		}
		if to < len(line) {
			suffix = "..."
		}
		line, col = line[from:to], col-from+len(prefix)
	}
	head := fmt.Sprintf("LINE %d: ", lineNo)
	return []string{head + prefix + string(line) + suffix, strings.Repeat(" ", len(head)+col) + "^"}
}

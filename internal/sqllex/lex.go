// Package sqllex splits SQL text into tokens, dropping whitespace, comments
// and the contents of literals, and gives up (ok = false) on anything it
// cannot lex with certainty. It is the lexer behind session.IsReadOnly and
// the query-shape check of package split; each decides what the tokens
// mean. One method per token kind.
package sqllex

import "strings"

// Kind is what a token is.
type Kind uint8

// Token kinds.
const (
	Word        Kind = iota // keyword or unquoted identifier
	QuotedIdent             // "identifier", text without the quotes
	String                  // any string literal; text not kept
	Number
	Param // $1
	Punct // one character: ( ) ; , . [ ] and operators
)

// Token is one token and where it is in the text: sql[Start:End].
type Token struct {
	Kind       Kind
	Text       string
	Start, End int
}

// Is reports whether t is the punctuation character c.
func (t Token) Is(c byte) bool { return t.Kind == Punct && len(t.Text) == 1 && t.Text[0] == c }

// Lower is the token's text in lower case.
func (t Token) Lower() string { return strings.ToLower(t.Text) }

// IsWord reports whether t is the keyword (or unquoted identifier) w, given
// in lower case.
func (t Token) IsWord(w string) bool { return t.Kind == Word && strings.EqualFold(t.Text, w) }

// Lex splits sql into tokens, dropping whitespace, comments and the
// contents of literals. ok is false when the text cannot be lexed with
// certainty.
func Lex(sql string) (toks []Token, ok bool) {
	l := &lexer{sql: sql}
	for l.i < len(sql) {
		if !l.step() {
			return nil, false
		}
	}
	return l.toks, true
}

// lexer is the state of one lexSQL run: sql[i:] is still to be read.
type lexer struct {
	sql   string
	i     int
	toks  []Token
	start int // where the token being lexed began
}

// at returns the byte k places ahead, or 0 past the end.
func (l *lexer) at(k int) byte {
	if l.i+k < len(l.sql) {
		return l.sql[l.i+k]
	}
	return 0
}

// emit adds a token that began at l.start and ends at end.
func (l *lexer) emit(kind Kind, text string, end int) {
	l.toks = append(l.toks, Token{Kind: kind, Text: text, Start: l.start, End: end})
}

// step lexes one token (or skips one run of whitespace or a comment) and
// reports whether it could.
func (l *lexer) step() bool {
	c, next := l.at(0), l.at(1)
	l.start = l.i
	switch {
	case isSpace(c):
		l.i++
	case c == '-' && next == '-':
		l.lineComment()
	case c == '/' && next == '*':
		return l.blockComment()
	case c == '\'':
		return l.stringLit(false)
	case c == '"':
		return l.quotedIdent()
	case c == '$':
		return l.dollar()
	case isIdentStart(c):
		return l.word()
	case isDigit(c) || (c == '.' && isDigit(next)):
		l.number()
	default:
		l.emit(Punct, l.sql[l.i:l.i+1], l.i+1)
		l.i++
	}
	return true
}

// lineComment skips -- to the end of the line.
func (l *lexer) lineComment() {
	for l.i < len(l.sql) && l.sql[l.i] != '\n' && l.sql[l.i] != '\r' {
		l.i++
	}
}

// blockComment skips /* ... */; block comments nest. An unterminated one is
// uncertain.
func (l *lexer) blockComment() bool {
	depth := 0
	for {
		switch {
		case l.i+1 >= len(l.sql):
			return false
		case l.at(0) == '/' && l.at(1) == '*':
			depth++
			l.i += 2
		case l.at(0) == '*' && l.at(1) == '/':
			depth--
			l.i += 2
			if depth == 0 {
				return true
			}
		default:
			l.i++
		}
	}
}

// stringLit lexes the literal whose opening quote is at sql[i]; escapes says
// whether backslashes escape (E'...').
func (l *lexer) stringLit(escapes bool) bool {
	end, ok := skipString(l.sql, l.i, escapes)
	if !ok {
		return false
	}
	l.emit(String, "", end)
	l.i = end
	return true
}

// quotedIdent lexes "identifier", with "" standing for one quote.
func (l *lexer) quotedIdent() bool {
	var b strings.Builder
	for j := l.i + 1; j < len(l.sql); j++ {
		if l.sql[j] != '"' {
			b.WriteByte(l.sql[j])
			continue
		}
		if j+1 < len(l.sql) && l.sql[j+1] == '"' {
			b.WriteByte('"')
			j++
			continue
		}
		l.emit(QuotedIdent, b.String(), j+1)
		l.i = j + 1
		return true
	}
	return false
}

// dollar lexes what starts with $: a parameter ($1), a dollar-quoted string
// ($tag$ ... $tag$, the tag may be empty), or else the $ operator character.
func (l *lexer) dollar() bool {
	if isDigit(l.at(1)) {
		j := l.i + 1
		for j < len(l.sql) && isDigit(l.sql[j]) {
			j++
		}
		l.emit(Param, l.sql[l.i:j], j)
		l.i = j
		return true
	}
	j := l.i + 1
	for j < len(l.sql) && isIdentPart(l.sql[j]) && l.sql[j] != '$' {
		j++
	}
	if j >= len(l.sql) || l.sql[j] != '$' {
		l.emit(Punct, "$", l.i+1)
		l.i++
		return true
	}
	delim := l.sql[l.i : j+1]
	end := strings.Index(l.sql[j+1:], delim)
	if end < 0 {
		return false
	}
	l.emit(String, "", j+1+end+len(delim))
	l.i = j + 1 + end + len(delim)
	return true
}

// word lexes a keyword or identifier, or a prefixed string literal: E'...'
// has backslash escapes; B'...', X'...' and N'...' are plain.
func (l *lexer) word() bool {
	j := l.i + 1
	for j < len(l.sql) && isIdentPart(l.sql[j]) {
		j++
	}
	word := l.sql[l.i:j]
	if j < len(l.sql) && l.sql[j] == '\'' {
		switch strings.ToLower(word) {
		case "e", "b", "x", "n":
			l.i = j
			return l.stringLit(word == "e" || word == "E")
		}
	}
	l.emit(Word, word, j)
	l.i = j
	return true
}

// number lexes a numeric literal (1, 1.5, .5, 1e-3, 0x1F, 1_000).
func (l *lexer) number() {
	j := l.i + 1
	for j < len(l.sql) && (isIdentPart(l.sql[j]) || l.sql[j] == '.') {
		if (l.sql[j] == 'e' || l.sql[j] == 'E') && j+1 < len(l.sql) && (l.sql[j+1] == '+' || l.sql[j+1] == '-') {
			j++
		}
		j++
	}
	l.emit(Number, l.sql[l.i:j], j)
	l.i = j
}

// skipString skips the literal whose opening quote is at sql[i] and returns
// the index after its closing quote. Adjacent literals separated only by
// whitespace with a newline are one literal in SQL, and lexing them as two
// changes nothing here. A backslash in a standard string makes the result
// uncertain (it escapes the quote when standard_conforming_strings is off).
func skipString(sql string, i int, escapes bool) (int, bool) {
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if !escapes {
				return 0, false
			}
			j++ // the escaped character, a quote included
		case '\'':
			if j+1 < len(sql) && sql[j+1] == '\'' {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

package encode

import "unicode/utf8"

// jsonPlain marks the bytes a JSON string can hold as they are: printable
// ASCII other than '"' and '\\'. Bytes from 0x80 up are checked as UTF-8.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as PostgreSQL's
// escape_json does ("\b" "\f" "\n" "\r" "\t" `\"` `\\` and \u00XX for other
// control characters). Bytes that are not valid UTF-8 become \ufffd, so the
// output is valid JSON for any input. Runs of plain bytes are copied in one
// append.
func appendJSONString(b, s []byte) []byte {
	return append(appendJSONBody(append(b, '"'), s), '"')
}

// appendJSONBody is appendJSONString without the quotes.
func appendJSONBody(b, s []byte) []byte {
	start := 0
	quote, backslash := splat('"'), splat('\\')
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			x := load8(s, i)
			if x&msb == 0 && !hasControl(x) && !hasByte(x, quote) && !hasByte(x, backslash) {
				i += 8 // 8 plain ASCII bytes
				continue
			}
		}
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}

// isJSONNumber reports whether s is a number in JSON's grammar, which is
// what PostgreSQL's IsValidJsonNumber checks before writing a numeric value
// bare.
func isJSONNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return false
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i+1)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

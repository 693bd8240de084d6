package encode

import "bytes"

// arrayConverter writes PostgreSQL array text (array_out) as a JSON array,
// the way row_to_json's array_to_json does: one JSON array per dimension,
// lower bounds dropped, elements converted by the element type's rules,
// NULL elements as null, an empty array as [].
//
// The text is `{e1,e2,...}`, nested for more dimensions (`{{1,2},{3,4}}`),
// optionally preceded by bounds when a lower bound is not 1
// (`[0:1]={1,2}`). The separator is the element type's typdelim (';' for
// box). An element is double-quoted when it is empty, contains braces, the
// separator, a quote, a backslash or white space, or equals NULL in any
// case; inside quotes a backslash escapes the next byte. An unquoted NULL is
// SQL NULL.
//
// For text not in that form the converter still writes valid JSON: text
// without braces becomes a JSON string, unbalanced braces are closed.
type arrayConverter struct {
	elem    converter
	delim   byte
	scratch []byte // an element with escapes, unescaped
}

func (a *arrayConverter) append(b, v []byte) []byte {
	i := 0
	if len(v) > 0 && v[0] == '[' {
		eq := bytes.IndexByte(v, '=')
		if eq < 0 {
			return appendJSONString(b, v)
		}
		i = eq + 1
	}
	if i >= len(v) || v[i] != '{' {
		return appendJSONString(b, v)
	}
	depth, comma := 0, false
	for i < len(v) {
		c := v[i]
		switch {
		case c == '{':
			if comma {
				b = append(b, ',')
			}
			b = append(b, '[')
			depth, comma = depth+1, false
			i++
		case c == '}':
			b = append(b, ']')
			depth, comma = depth-1, true
			i++
			if depth == 0 {
				return b
			}
		case c == a.delim || isArraySpace(c):
			i++
		default:
			if comma {
				b = append(b, ',')
			}
			comma = true
			var elem []byte
			if c == '"' {
				elem, i = a.quoted(v, i+1)
			} else {
				var null bool
				elem, null, i = a.unquoted(v, i)
				if null {
					b = append(b, "null"...)
					continue
				}
			}
			b = a.elem(b, elem)
		}
	}
	for ; depth > 0; depth-- {
		b = append(b, ']')
	}
	return b
}

// quoted returns the element whose text starts at v[i], just after its
// opening quote, and the index after its closing quote.
func (a *arrayConverter) quoted(v []byte, i int) ([]byte, int) {
	start, escaped := i, false
	for i < len(v) && v[i] != '"' {
		if v[i] == '\\' {
			escaped = true
			i++
		}
		i++
	}
	end := min(i, len(v))
	if !escaped {
		return v[start:end], min(i+1, len(v))
	}
	return a.unescape(v[start:end]), min(i+1, len(v))
}

// unquoted returns the element starting at v[i], whether it is NULL, and the
// index of the separator or brace after it.
func (a *arrayConverter) unquoted(v []byte, i int) ([]byte, bool, int) {
	start, escaped := i, false
	for i < len(v) && v[i] != a.delim && v[i] != '}' && v[i] != '{' {
		if v[i] == '\\' {
			escaped = true
			i++
		}
		i++
	}
	end := min(i, len(v))
	elem := v[start:end]
	if escaped {
		return a.unescape(elem), false, end
	}
	return elem, isNULL(elem), end
}

// unescape copies s into the scratch buffer without its backslashes (each
// escapes the byte after it).
func (a *arrayConverter) unescape(s []byte) []byte {
	b := a.scratch[:0]
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				break
			}
		}
		b = append(b, s[i])
	}
	a.scratch = b
	return b
}

// isNULL reports whether s is NULL in any letter case.
func isNULL(s []byte) bool {
	return len(s) == 4 && s[0]|0x20 == 'n' && s[1]|0x20 == 'u' && s[2]|0x20 == 'l' && s[3]|0x20 == 'l'
}

// isArraySpace is array_isspace: the white space array_in skips.
func isArraySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// vectorConverter writes int2vector and oidvector text ("1 2 3") as a JSON
// array, as row_to_json does (they are arrays to it).
type vectorConverter struct {
	elem converter
}

func (c *vectorConverter) append(b, v []byte) []byte {
	b = append(b, '[')
	first := true
	for i := 0; i < len(v); {
		if v[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(v) && v[j] != ' ' {
			j++
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = c.elem(b, v[i:j])
		i = j
	}
	return append(b, ']')
}

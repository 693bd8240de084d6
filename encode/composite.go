package encode

import "strconv"

// compositeConverter writes composite (row) text, record_out's
// `(a,"b c",,"")`, as a JSON object keyed by attribute name, the way
// row_to_json's composite_to_json does.
//
// In the text an empty field is NULL and `""` is an empty string; a field
// is double-quoted when it is empty or contains a quote, backslash, comma,
// parenthesis or white space; a backslash escapes the next byte and inside
// quotes `""` is a quote. Fields beyond the known attributes (an anonymous
// record, or a TypeInfo older than the type) get the keys f1, f2, ... that
// row_to_json gives a record's columns, and are written as strings.
type compositeConverter struct {
	keys    [][]byte // `"name":`, escaped
	fields  []converter
	scratch []byte // a field with quotes or escapes, unescaped
}

func newCompositeConverter(names []string, fields []converter) *compositeConverter {
	c := &compositeConverter{fields: fields, keys: make([][]byte, len(names))}
	for i, name := range names {
		c.keys[i] = jsonKey(name)
	}
	return c
}

func (c *compositeConverter) append(b, v []byte) []byte {
	if len(v) < 2 || v[0] != '(' {
		return appendJSONString(b, v)
	}
	b = append(b, '{')
	if len(c.keys) == 0 && string(v) == "()" {
		// A row type without attributes; "()" of a one-attribute anonymous
		// record holding NULL is indistinguishable and becomes {}.
		return append(b, '}')
	}
	i := 1
	for n := 0; ; n++ {
		if n > 0 {
			b = append(b, ',')
		}
		conv := appendString
		if n < len(c.keys) {
			b = append(b, c.keys[n]...)
			conv = c.fields[n]
		} else {
			b = append(b, `"f`...)
			b = strconv.AppendUint(b, uint64(n+1), 10)
			b = append(b, `":`...)
		}
		var field []byte
		var null bool
		field, null, i = c.field(v, i)
		if null {
			b = append(b, "null"...)
		} else {
			b = conv(b, field)
		}
		if i >= len(v) || v[i] == ')' {
			break
		}
		i++ // the comma
	}
	// Attributes missing from the text (a TypeInfo newer than the value)
	// are left out rather than invented.
	return append(b, '}')
}

// field returns the field starting at v[i], whether it is NULL, and the
// index of the ',' or ')' after it (or len(v)).
func (c *compositeConverter) field(v []byte, i int) ([]byte, bool, int) {
	if i >= len(v) || v[i] == ',' || v[i] == ')' {
		return nil, true, i
	}
	start, special, inQuote := i, false, false
	for i < len(v) {
		ch := v[i]
		if !inQuote && (ch == ',' || ch == ')') {
			break
		}
		switch ch {
		case '\\':
			special = true
			i++
		case '"':
			special = true
			if inQuote && i+1 < len(v) && v[i+1] == '"' {
				i++
			} else {
				inQuote = !inQuote
			}
		}
		i++
	}
	end := min(i, len(v))
	if !special {
		return v[start:end], false, end
	}
	return c.unescape(v[start:end]), false, end
}

// unescape applies record_in's rules to one field: quotes are dropped, a
// backslash escapes the next byte, `""` inside quotes is a quote.
func (c *compositeConverter) unescape(s []byte) []byte {
	b := c.scratch[:0]
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\\':
			i++
			if i < len(s) {
				b = append(b, s[i])
			}
		case ch == '"' && inQuote && i+1 < len(s) && s[i+1] == '"':
			b = append(b, '"')
			i++
		case ch == '"':
			inQuote = !inQuote
		default:
			b = append(b, ch)
		}
	}
	if b == nil {
		b = []byte{}
	}
	c.scratch = b
	return b
}

// jsonKey returns `"name":` with name escaped as a JSON string.
func jsonKey(name string) []byte {
	return append(appendJSONString(nil, []byte(name)), ':')
}

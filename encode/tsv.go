package encode

import (
	"io"
)

// tsvEncoder writes what COPY ... TO STDOUT writes in its text format
// (PostgreSQL's CopyAttributeOutText):
//
//   - NULL is the NULL string (default `\N`), written as is;
//   - backspace, form feed, LF, CR, tab and vertical tab become `\b` `\f`
//     `\n` `\r` `\t` `\v`; a backslash becomes `\\`; the delimiter becomes a
//     backslash followed by the delimiter (when the delimiter is one of the
//     control characters above, its letter form is used instead); every
//     other byte is copied;
//   - header names are escaped the same way; lines end with "\n".
type tsvEncoder struct {
	delimited
	// escape[c] is the byte written after a backslash in place of c, or 0
	// when c is copied as is.
	escape [256]byte
}

func newTSV(w io.Writer, opts Options) (*tsvEncoder, error) {
	delim, null, err := delimitedOptions(opts, false)
	if err != nil {
		return nil, err
	}
	e := &tsvEncoder{delimited: delimited{output: newOutput(w), header: opts.Header, delim: delim, null: null}}
	e.field = e.appendField
	e.escape[delim] = delim
	e.escape['\\'] = '\\'
	e.escape['\b'] = 'b'
	e.escape['\f'] = 'f'
	e.escape['\n'] = 'n'
	e.escape['\r'] = 'r'
	e.escape['\t'] = 't'
	e.escape['\v'] = 'v'
	return e, nil
}

// appendField appends one non-NULL value with COPY's backslash escapes,
// copying the runs between escaped bytes in one append each. Words of 8
// bytes without a control character, backslash or delimiter are skipped
// whole.
func (e *tsvEncoder) appendField(b, v []byte) []byte {
	if len(v) >= bigValue {
		return e.inPieces(b, v, e.appendEscaped, anyCut)
	}
	return e.appendEscaped(b, v)
}

// appendEscaped is appendField for one value or piece of one.
func (e *tsvEncoder) appendEscaped(b, v []byte) []byte {
	escape := &e.escape
	delim, backslash := splat(e.delim), splat('\\')
	start := 0
	for i := 0; i < len(v); {
		if i+8 <= len(v) {
			x := load8(v, i)
			if !hasControl(x) && !hasByte(x, backslash) && !hasByte(x, delim) {
				i += 8
				continue
			}
		}
		for end := min(i+8, len(v)); i < end; i++ {
			if x := escape[v[i]]; x != 0 {
				b = append(b, v[start:i]...)
				b = append(b, '\\', x)
				start = i + 1
			}
		}
	}
	return append(b, v[start:]...)
}

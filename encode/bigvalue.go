package encode

import (
	"reflect"
	"unicode/utf8"
)

// A value of bigValue bytes or more is not appended whole to the output
// buffer: what the buffer holds is written out, and the value
// follows in pieces of at most piece bytes of input (or as it is, when it
// needs no quoting or escaping). Memory for a huge value is then the
// caller's copy of it plus a few pieces, not two or three more copies
// (the buffer grown by doubling, then dropped).
const (
	bigValue = 1 << 20
	piece    = 64 << 10
)

// spill writes b, the rows so far and the start of a row, and returns
// b[:0] to go on with. A write error stays in o.err, which the row's final
// write returns.
func (o *output) spill(b []byte) []byte {
	if o.err == nil && len(b) > 0 {
		o.err = writeAll(o.w, b)
	}
	return b[:0]
}

// writeRaw writes v as it is after the row so far.
func (o *output) writeRaw(b, v []byte) []byte {
	b = o.spill(b)
	if o.err == nil {
		o.err = writeAll(o.w, v)
	}
	return b
}

// inPieces appends v transformed by f, which must transform any split of
// v piece by piece into the same bytes as v whole, spilling the buffer
// whenever it holds a piece's worth. cut returns where a piece of v may
// end at or before n.
func (o *output) inPieces(b, v []byte, f func(b, v []byte) []byte, cut func(v []byte, n int) int) []byte {
	for len(v) > 0 {
		n := len(v)
		if n > piece {
			n = cut(v, piece)
		}
		b = f(b, v[:n])
		v = v[n:]
		if len(b) >= piece {
			b = o.spill(b)
		}
	}
	return b
}

// anyCut cuts anywhere: for transformations that work byte by byte.
func anyCut(_ []byte, n int) int { return n }

// runeCut cuts before a UTF-8 sequence, never inside a valid one (a valid
// sequence is at most utf8.UTFMax bytes long); continuation bytes further
// back than that are invalid on their own.
func runeCut(v []byte, n int) int {
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(v[i]) {
			return i
		}
	}
	return n
}

// isStringConverter reports whether conv writes the value's whole text as
// one JSON string (appendString), which can be written in pieces.
func isStringConverter(conv converter) bool {
	return reflect.ValueOf(conv).Pointer() == reflect.ValueOf(converter(appendString)).Pointer()
}

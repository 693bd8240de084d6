package encode

import "strings"

// plainAlphabets lists, for the types whose text output is drawn from a
// small fixed set of bytes, that set: PostgreSQL's int2out, int4out,
// int8out, oidout (digits and '-'), float4out/float8out and numeric_out
// (digits, '.', '-', '+', 'e' and the words NaN, Infinity, -Infinity),
// boolout ('t', 'f') and uuid_out (lower-case hex digits and '-'). None of
// those bytes is a quote, a backslash, CR, LF or another control
// character, so such a value needs no csv quoting and no tsv escaping
// unless the delimiter is one of them (or, for csv, the value is the NULL
// string). A domain column is described by its base type, so it counts
// too. The output of these types does not depend on DateStyle, locale or
// other settings.
var plainAlphabets = map[uint32]string{
	16:   "tf",                     // bool
	20:   "0123456789-",            // int8
	21:   "0123456789-",            // int2
	23:   "0123456789-",            // int4
	26:   "0123456789-",            // oid
	700:  "0123456789.-+eNaIfinty", // float4
	701:  "0123456789.-+eNaIfinty", // float8
	1700: "0123456789.-+eNaIfinty", // numeric
	2950: "0123456789abcdef-",      // uuid
}

// plainColumns reports per column whether its values can be copied as
// they are: its type's text output never holds delim nor a byte the
// format quotes or escapes (see plainAlphabets). It reuses dst.
func plainColumns(dst []bool, oids []uint32, delim byte) []bool {
	dst = dst[:0]
	for _, oid := range oids {
		a, ok := plainAlphabets[oid]
		dst = append(dst, ok && strings.IndexByte(a, delim) < 0)
	}
	return dst
}

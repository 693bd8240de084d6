package encode

import "bytes"

// converter appends one non-NULL text-format value to b as JSON and returns
// the extended slice. Converters are chosen once per column (see
// TypeInfo.converter); they allocate nothing once b and their scratch
// buffers have grown.
type converter func(b, v []byte) []byte

// appendString appends v as a JSON string: the JSON form of every type
// row_to_json does not treat specially (text, oid, date, time, interval,
// uuid, inet, bytea's "\x..." text, enums, ranges, money, ...).
func appendString(b, v []byte) []byte { return appendJSONString(b, v) }

// appendNumber appends int2/4/8, float4/8 and numeric values bare, as
// row_to_json does, and as strings when they are not JSON numbers (NaN,
// Infinity, -Infinity).
func appendNumber(b, v []byte) []byte {
	if isJSONNumber(v) {
		return append(b, v...)
	}
	return appendJSONString(b, v)
}

// appendBool appends bool's "t" and "f" as true and false.
func appendBool(b, v []byte) []byte {
	switch string(v) {
	case "t":
		return append(b, "true"...)
	case "f":
		return append(b, "false"...)
	}
	return appendJSONString(b, v)
}

// appendRawJSON embeds json and jsonb text as it is, as row_to_json does.
// In valid JSON a CR or LF byte can only be insignificant white space, so
// they are written as spaces: the value then stays on one line of JSON
// Lines and means the same.
func appendRawJSON(b, v []byte) []byte {
	for {
		i := bytes.IndexAny(v, "\r\n")
		if i < 0 {
			break
		}
		b = append(b, v[:i]...)
		b = append(b, ' ')
		v = v[i+1:]
	}
	return append(b, v...)
}

// appendTimestamp appends timestamp text in the form row_to_json uses: the
// ISO text output "2024-01-02 03:04:05.5" with a "T" for the space.
func appendTimestamp(b, v []byte) []byte { return appendDateTime(b, v, false) }

// appendTimestampTZ appends timestamptz text in the form row_to_json uses:
// "2024-01-02 03:04:05+00" becomes "2024-01-02T03:04:05+00:00" (an offset
// with minutes or seconds is already written in full).
func appendTimestampTZ(b, v []byte) []byte { return appendDateTime(b, v, true) }

// appendDateTime converts DateStyle ISO output to the XSD form of
// PostgreSQL's JsonEncodeDateTime: "T" between date and time, and for a time
// zone an offset of at least hours and minutes. " BC" stays at the end;
// infinity and -infinity, and text in any other DateStyle, are written as
// they are.
func appendDateTime(b, v []byte, tz bool) []byte {
	sp := bytes.IndexByte(v, ' ')
	if sp < 0 || !isISODate(v[:sp]) || sp+1 >= len(v) || !isDigit(v[sp+1]) || !isPlainASCII(v) {
		return appendJSONString(b, v)
	}
	b = append(b, '"')
	b = append(b, v[:sp]...)
	b = append(b, 'T')
	rest := v[sp+1:]
	if tz {
		// The time is digits, ':' and '.'; the offset starts at its sign
		// and runs to the end or to " BC".
		if i := bytes.IndexAny(rest, "+-"); i >= 0 {
			end := bytes.IndexByte(rest[i:], ' ')
			if end < 0 {
				end = len(rest)
			} else {
				end += i
			}
			b = append(b, rest[:end]...)
			if bytes.IndexByte(rest[i:end], ':') < 0 {
				b = append(b, ":00"...)
			}
			rest = rest[end:]
		}
	}
	b = append(b, rest...)
	return append(b, '"')
}

// isPlainASCII reports whether s can go into a JSON string unescaped.
func isPlainASCII(s []byte) bool {
	for _, c := range s {
		if !jsonPlain[c] {
			return false
		}
	}
	return true
}

// isISODate reports whether d looks like "YYYY-MM-DD" (four or more year
// digits), the date part of DateStyle ISO output.
func isISODate(d []byte) bool {
	n := len(d)
	if n < 10 || d[n-3] != '-' || d[n-6] != '-' {
		return false
	}
	for i, c := range d {
		if i != n-3 && i != n-6 && !isDigit(c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

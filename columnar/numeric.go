package columnar

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// maxDecimalDigits is the most digits a DECIMAL(p,s) of 128 bits holds.
const maxDecimalDigits = 38

// numericTypmod decodes numeric's type modifier: precision and scale, ok
// false when none was declared. PostgreSQL 15 allows a negative scale and
// one above the precision; the scale is an 11-bit signed number.
func numericTypmod(typmod int32) (prec, scale int32, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	tm := typmod - 4
	return (tm >> 16) & 0xffff, ((tm & 0x7ff) ^ 1024) - 1024, true
}

// numericMapping: DECIMAL(p,s) when a precision of at most 38 digits and a
// scale within it were declared, otherwise an exact string or float64
// (Options.Numeric). Both wire formats are read through the text form.
func (p *planner) numericMapping(typmod int32, format int16) mapping {
	prec, scale, ok := numericTypmod(typmod)
	switch {
	case ok && prec >= 1 && prec <= maxDecimalDigits && scale >= 0 && scale <= prec:
		return decimalMapping(prec, scale, format)
	case p.numeric == NumericFloat64:
		return numericVia(arrow.PrimitiveTypes.Float64, format, func(b array.Builder) func([]byte) error {
			fb := b.(*array.Float64Builder)
			return func(t []byte) error {
				f, err := strconv.ParseFloat(str(t), 64)
				if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range: ±Inf, as a cast to float8 would fail; keep it
					return badValue("numeric %q", t)
				}
				fb.Append(f)
				return nil
			}
		})
	}
	return numericVia(arrow.BinaryTypes.String, format, func(b array.Builder) func([]byte) error {
		sb := b.(*array.StringBuilder)
		return func(t []byte) error {
			sb.BinaryBuilder.Append(t)
			return nil
		}
	})
}

// numericVia maps numeric to typ through its text form: add gets the text
// of every value that is not NULL.
func numericVia(typ arrow.DataType, format int16, add func(b array.Builder) func(t []byte) error) mapping {
	return mapping{typ: typ, bind: func(b array.Builder) appender {
		put := add(b)
		var buf []byte
		return func(v []byte) error {
			if v == nil {
				b.AppendNull()
				return nil
			}
			t, err := numericText(&buf, v, format)
			if err != nil {
				return err
			}
			return put(t)
		}
	}}
}

func decimalMapping(prec, scale int32, format int16) mapping {
	return numericVia(&arrow.Decimal128Type{Precision: prec, Scale: scale}, format, func(b array.Builder) func([]byte) error {
		db := b.(*array.Decimal128Builder)
		return func(t []byte) error {
			n, err := parseDecimal(t, scale)
			if err != nil {
				return err
			}
			db.Append(n)
			return nil
		}
	})
}

// numericText returns the text form of a numeric wire value: v itself in
// text format, the binary form rendered as numeric_out does otherwise (into
// *buf, reused).
func numericText(buf *[]byte, v []byte, format int16) ([]byte, error) {
	if format != binary {
		return v, nil
	}
	if len(v) < 8 {
		return nil, badValue("numeric of %d bytes", len(v))
	}
	nd, weight := int(int16(be.Uint16(v))), int(int16(be.Uint16(v[2:])))
	sign, dscale := be.Uint16(v[4:]), int(int16(be.Uint16(v[6:])))
	if nd < 0 || len(v) != 8+2*nd || dscale < 0 {
		return nil, badValue("numeric of %d bytes with %d digits", len(v), nd)
	}
	switch sign {
	case 0xC000:
		return []byte("NaN"), nil
	case 0xD000:
		return []byte("Infinity"), nil
	case 0xF000:
		return []byte("-Infinity"), nil
	}
	digit := func(i int) int {
		if i < 0 || i >= nd {
			return 0
		}
		return int(be.Uint16(v[8+2*i:]))
	}
	out := (*buf)[:0]
	if sign == 0x4000 {
		out = append(out, '-')
	}
	if weight < 0 {
		out = append(out, '0')
	}
	for i := 0; i <= weight; i++ {
		d := digit(i)
		if i == 0 {
			out = strconv.AppendInt(out, int64(d), 10)
			continue
		}
		out = append(out, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
	}
	if dscale > 0 {
		out = append(out, '.')
		for i, n := weight+1, 0; n < dscale; i++ {
			d := digit(i)
			for _, p := range [4]int{1000, 100, 10, 1} {
				if n == dscale {
					break
				}
				out = append(out, byte('0'+d/p%10))
				n++
			}
		}
	}
	*buf = out
	return out, nil
}

// parseDecimal reads numeric text ("-123.45") as an integer scaled by
// 10^scale. The text of a numeric(p,s) value has at most s fractional
// digits (exactly s, as the server prints it).
func parseDecimal(t []byte, scale int32) (decimal128.Num, error) {
	if bytes.Equal(t, []byte("NaN")) {
		return decimal128.Num{}, ErrNaNDecimal
	}
	v := t
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	var n decimal128.Num
	var chunk uint64
	digits, chunkDigits, frac := 0, 0, int32(-1)
	for _, c := range v {
		if c == '.' && frac < 0 {
			frac = 0
			continue
		}
		if c < '0' || c > '9' {
			return decimal128.Num{}, badValue("numeric %q for a DECIMAL column", t)
		}
		chunk = chunk*10 + uint64(c-'0')
		digits++
		chunkDigits++
		if frac >= 0 {
			frac++
		}
		if chunkDigits == 18 {
			n = n.Mul(decimal128.GetScaleMultiplier(18)).Add(decimal128.FromU64(chunk))
			chunk, chunkDigits = 0, 0
		}
	}
	if digits == 0 || digits > maxDecimalDigits+1 {
		return decimal128.Num{}, badValue("numeric %q for a DECIMAL column", t)
	}
	n = n.Mul(decimal128.GetScaleMultiplier(chunkDigits)).Add(decimal128.FromU64(chunk))
	frac = max(frac, 0)
	if frac > scale {
		return decimal128.Num{}, badValue("numeric %q has more than %d fractional digits", t, scale)
	}
	if frac < scale {
		n = n.Mul(decimal128.GetScaleMultiplier(int(scale - frac)))
	}
	if neg {
		n = n.Negate()
	}
	return n, nil
}

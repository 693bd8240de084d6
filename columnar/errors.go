package columnar

import (
	"errors"
	"fmt"
)

// ValueError is a value the writer cannot represent: it names the column
// and the row (1-based, counted from the first row given to the Writer).
type ValueError struct {
	Column string
	Row    int64
	Err    error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("columnar: column %q, row %d: %v", e.Column, e.Row, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// Sentinels a ValueError wraps.
var (
	// ErrInfinity: an infinite date or timestamp, which Parquet and Arrow
	// cannot represent. Filter it out or cast the column to text.
	ErrInfinity = errors.New("infinite date or timestamp has no Parquet/Arrow value (filter it out or cast the column to text)")
	// ErrOutOfRange: a timestamp beyond what microseconds since 1970 hold in
	// 64 bits (after about year 294000).
	ErrOutOfRange = errors.New("timestamp beyond the range of 64-bit microseconds since 1970 (cast the column to text)")
	// ErrNaNDecimal: NaN in a numeric column written as DECIMAL.
	ErrNaNDecimal = errors.New("numeric NaN has no DECIMAL value (filter it out, or cast the column to float8 or text)")
	// ErrMultiDim: an array of more than one dimension; only
	// one-dimensional arrays become lists.
	ErrMultiDim = errors.New("multi-dimensional array: only one-dimensional arrays are written as lists (cast it to text, or unnest it)")
	// ErrBadValue: bytes that are not a valid value of the column's type in
	// its wire format.
	ErrBadValue = errors.New("malformed wire value")
)

// ErrNoColumns is a result without columns written as Parquet, which would
// lose its row count. Arrow keeps it.
var ErrNoColumns = errors.New("columnar: a Parquet file cannot hold rows without columns (select at least one column, or write Arrow)")

func badValue(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadValue, fmt.Sprintf(format, args...))
}

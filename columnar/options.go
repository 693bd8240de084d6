package columnar

import (
	"fmt"
)

// Format is the output a Writer produces.
type Format int

const (
	// Parquet is a Parquet file: one row group per batch, the footer at End.
	Parquet Format = iota + 1
	// Arrow is an Arrow IPC stream (the streaming format, not the file
	// format): the schema, one record batch per batch, the end-of-stream
	// marker at End. pyarrow.ipc.open_stream, Polars' read_ipc_stream and
	// arrow-go's ipc.NewReader read it.
	Arrow
)

func (f Format) String() string {
	switch f {
	case Parquet:
		return "parquet"
	case Arrow:
		return "arrow"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Compression is how a Writer compresses its pages (Parquet) or record
// batch buffers (Arrow).
type Compression string

const (
	// CompressionDefault is zstd for Parquet and none for Arrow: an IPC
	// stream usually goes through a local pipe, where compressing costs more
	// CPU than it saves, and not every Arrow reader decompresses.
	CompressionDefault Compression = ""
	CompressionNone    Compression = "none"
	CompressionZstd    Compression = "zstd"
	// CompressionSnappy is Parquet only: Arrow IPC knows zstd and lz4.
	CompressionSnappy Compression = "snappy"
)

// NumericMode says how a numeric column that is not a DECIMAL (no declared
// precision, or more than 38 digits) is written.
type NumericMode int

const (
	// NumericString writes the exact decimal text ("12.50", "NaN",
	// "Infinity") as a UTF-8 string.
	NumericString NumericMode = iota
	// NumericFloat64 writes the nearest float64 (NaN and ±Inf as such),
	// losing digits beyond float64's precision.
	NumericFloat64
)

// Options tunes a Writer. The zero value is ready to use.
type Options struct {
	// RowGroupRows caps the rows of a batch: one Parquet row group or one
	// Arrow record batch. Default 65536.
	RowGroupRows int
	// RowGroupBytes ends a batch early once its wire values reach this many
	// bytes, so wide rows do not make batches large. Default 4 MiB. A
	// batch's memory is a small multiple of this (the Arrow arrays, then
	// their encoded pages).
	RowGroupBytes int
	// Compression: see the constants. Default: zstd for Parquet, none for
	// Arrow.
	Compression Compression
	// CompressionLevel is zstd's level (1-22) for Parquet. Default 1, zstd's
	// fastest: on the wide benchmark table its files are 3% larger than
	// level 3's, written with a fifth less CPU.
	CompressionLevel int
	// Numeric: see NumericMode. Numeric columns with a declared precision
	// of at most 38 digits are DECIMAL whatever it is.
	Numeric NumericMode
	// Types describes the types that are not built in (enums, composites,
	// domains inside arrays or composites, arrays of those): get it from
	// LoadTypes. Without it such a column in text format is written as its
	// text, and one in binary format is refused.
	Types *Types
}

const (
	// defaultRowGroupRows: 64 Ki rows per row group keep readers' per-group
	// overhead low for narrow rows, while RowGroupBytes bounds wide ones.
	defaultRowGroupRows = 64 << 10
	// defaultRowGroupBytes: 4 MiB of wire values (about 18,000 rows of the
	// wide benchmark table) make about 12 MB of Arrow arrays and 7 MB of
	// row group in parquet-go, which keeps a CLI run under 64 MB; 8 MiB
	// did not.
	defaultRowGroupBytes = 4 << 20
)

func (o Options) withDefaults() Options {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = defaultRowGroupRows
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = defaultRowGroupBytes
	}
	return o
}

func (o Options) compressionLevel() int {
	if o.CompressionLevel <= 0 {
		return 1
	}
	return o.CompressionLevel
}

// check validates o for format f.
func (o Options) check(f Format) error {
	switch f {
	case Parquet, Arrow:
	default:
		return fmt.Errorf("columnar: unknown format %v: want Parquet or Arrow", f)
	}
	switch o.Compression {
	case CompressionDefault, CompressionNone, CompressionZstd:
	case CompressionSnappy:
		if f == Arrow {
			return fmt.Errorf("columnar: compression %q: Arrow IPC supports zstd or none", o.Compression)
		}
	default:
		return fmt.Errorf("columnar: compression %q: want zstd, snappy or none", o.Compression)
	}
	switch o.Numeric {
	case NumericString, NumericFloat64:
	default:
		return fmt.Errorf("columnar: unknown NumericMode %d", o.Numeric)
	}
	return nil
}

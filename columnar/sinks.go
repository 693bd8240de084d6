package columnar

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetSink writes each batch as one row group.
type parquetSink struct{ fw *pqarrow.FileWriter }

func newParquetSink(w io.Writer, schema *arrow.Schema, opts Options) (*parquetSink, error) {
	codec := compress.Codecs.Zstd
	switch opts.Compression {
	case CompressionNone:
		codec = compress.Codecs.Uncompressed
	case CompressionSnappy:
		codec = compress.Codecs.Snappy
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(codec),
		parquet.WithMaxRowGroupLength(int64(opts.RowGroupRows)),
		parquet.WithCreatedBy("streamcat"),
	)
	// The stored Arrow schema lets Arrow readers restore the dictionary
	// (enum) and extension (uuid, json) types exactly.
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &parquetSink{fw: fw}, nil
}

func (s *parquetSink) write(rec arrow.RecordBatch) error { return s.fw.Write(rec) }
func (s *parquetSink) close() error                      { return s.fw.Close() }

// arrowSink writes each batch as one IPC record batch.
type arrowSink struct{ w *ipc.Writer }

func newArrowSink(w io.Writer, schema *arrow.Schema, opts Options) (*arrowSink, error) {
	o := []ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator)}
	if opts.Compression == CompressionZstd {
		o = append(o, ipc.WithZstd())
	}
	return &arrowSink{w: ipc.NewWriter(w, o...)}, nil
}

func (s *arrowSink) write(rec arrow.RecordBatch) error { return s.w.Write(rec) }
func (s *arrowSink) close() error                      { return s.w.Close() }

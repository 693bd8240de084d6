package columnar

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

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

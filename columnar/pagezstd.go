package columnar

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// pageWindow bounds the zstd window of Parquet pages. Each page is
// compressed on its own and holds a few hundred kilobytes, so a larger
// window finds nothing more; zstd's default of 8 MiB would keep that much
// history per encoder, as much as a whole row group.
const pageWindow = 1 << 20

// pageZstd is parquet-go's compress.Codec for zstd with a pageWindow
// window and encoders pooled per writer.
type pageZstd struct {
	level int
	enc   sync.Pool
	dec   sync.Pool
}

func (c *pageZstd) String() string                            { return "ZSTD" }
func (c *pageZstd) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *pageZstd) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.enc.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(c.level)),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(pageWindow), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, err
		}
	}
	defer c.enc.Put(e)
	return e.EncodeAll(src, dst[:0]), nil
}

func (c *pageZstd) Decode(dst, src []byte) ([]byte, error) {
	d, _ := c.dec.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		if d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)); err != nil {
			return nil, err
		}
	}
	defer c.dec.Put(d)
	return d.DecodeAll(src, dst[:0])
}

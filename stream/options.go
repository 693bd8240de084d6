package stream

import (
	"time"

	"github.com/streamcat/streamcat/internal/ladder"
)

// Options tunes a stream. The zero value is ready to use.
type Options struct {
	// MaxBatch caps the rows per batch. Batches grow 1, 5, 25, 125, 625, then
	// MaxBatch (as SQLAlchemy's buffered cursor), so the first row arrives at
	// once and a large result moves in large batches. Default 1000.
	//
	// A batch is also sent before it is full when the rows the producer
	// holds are all that has arrived (the next read would wait for the
	// server): rows reach the reader as the server sends them, however
	// slowly it does.
	MaxBatch int
	// FixedBatch, when > 0, caps every batch at exactly that many rows from
	// the start (the reference's yield_per); MaxBatch is then ignored.
	FixedBatch int
	// MaxBatchBytes ends a batch early once its values reach this many
	// bytes, so wide rows do not make batches huge. Default 4 MiB, at
	// most 1 GiB.
	MaxBatchBytes int
	// Buffer is how many batches the channel between producer and consumer
	// holds. Default 4. Memory is bounded by (Buffer+2) batches: the
	// channel, the batch being filled and the batch being read; a batch is
	// at most MaxBatch rows and MaxBatchBytes plus one row.
	Buffer int
	// ExitTimeout bounds an early end (Close, break, Interrupt, a one-answer
	// method) on a connection that has stopped answering: the stream sends
	// the server a cancel request and gives the server this long to end the
	// statement. When it does not, the connection is closed (the pool
	// replaces it) and the early end returns anyway. Default 2 s.
	ExitTimeout time.Duration
	// Prefetch says where batches are read: PrefetchAuto (the default) reads
	// them on the reader's goroutine while it keeps up with the wire, and
	// moves reading to a producer goroutine that reads ahead once the reader
	// spends longer on the rows than reading them took; PrefetchAlways uses
	// the goroutine from the start; PrefetchNever never does. Every way out,
	// the cancel instead of a drain and the memory bound are the same in
	// both.
	Prefetch Prefetch
	// OnDropped is called when a Result that was still running is
	// garbage-collected without Close: the stream then stops its query and
	// gives the connection back, and OnDropped says so (with err wrapping
	// ErrDropped). It runs on the runtime's cleanup goroutine: keep it
	// short. Nil logs a warning through log/slog's default logger.
	OnDropped func(err error)
}

// Prefetch is Options.Prefetch.
type Prefetch uint8

const (
	// PrefetchAuto reads inline until the reader is slower than the wire.
	PrefetchAuto Prefetch = iota
	// PrefetchAlways reads ahead on a producer goroutine from the start.
	PrefetchAlways
	// PrefetchNever always reads on the reader's goroutine.
	PrefetchNever
)

const (
	// defaultMaxBatch: 1000 rows amortize the per-batch hand-off (a channel
	// send and a goroutine wake-up, about a microsecond) to nothing per row,
	// while (Buffer+2) batches of narrow rows stay well under a megabyte.
	defaultMaxBatch = 1000
	// defaultMaxBatchBytes: 4 MiB caps a batch of wide rows; with the
	// default Buffer a stream holds at most about 24 MiB of values.
	defaultMaxBatchBytes = 4 << 20
	// maxBatchBytes caps MaxBatchBytes (see withDefaults).
	maxBatchBytes = 1 << 30
	// defaultBuffer: 4 batches let the producer read ahead while the reader
	// works on one, enough to hide the reader's jitter; more only costs
	// memory.
	defaultBuffer = 4
	// defaultExitTimeout: a healthy server acknowledges a cancel request in
	// milliseconds; 2 s leaves room for a loaded machine, yet an early end on
	// a dead network returns promptly.
	defaultExitTimeout = 2 * time.Second
	// firstRowBytes is the guess at a row's size before the first batch has
	// measured one: the first block's byte room is allocated from it.
	// Afterwards blocks are sized from the rows seen.
	firstRowBytes = 64
	// arrivalWait: when the rows a batch holds are all that has arrived, the
	// producer waits this long for more bytes on the socket before it sends
	// the batch. Rows that flow arrive within microseconds, so full batches
	// stay full; a row followed by a slow one reaches the reader at most
	// this much later than it arrived.
	arrivalWait = time.Millisecond
	// keepBlockFactor: a block may end up to one row past MaxBatchBytes, and
	// append doubles its room; a block with more than twice MaxBatchBytes of
	// room grew for an unusually large row and is not kept for reuse.
	keepBlockFactor = 2
)

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = defaultMaxBatch
	}
	if o.FixedBatch > 0 {
		o.MaxBatch = o.FixedBatch
	}
	if o.Buffer <= 0 {
		o.Buffer = defaultBuffer
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = defaultMaxBatchBytes
	}
	// a block addresses 2 GiB of values (buffered.Block): a batch of at
	// most 1 GiB plus one copied row (under borrowRowBytes) stays within
	o.MaxBatchBytes = min(o.MaxBatchBytes, maxBatchBytes)
	if o.ExitTimeout <= 0 {
		o.ExitTimeout = defaultExitTimeout
	}
	return o
}

// batchSizes returns the batch sizes a stream with o takes: the one ladder
// (package ladder) up to MaxBatch, or FixedBatch every time.
func batchSizes(o Options) ladder.Ladder {
	if o.FixedBatch > 0 {
		return ladder.Fixed(o.FixedBatch)
	}
	return ladder.New(o.MaxBatch)
}

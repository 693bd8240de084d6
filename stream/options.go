package stream

// Options tunes a stream. The zero value is ready to use.
type Options struct {
	// MaxBatch caps the rows per batch. Batches grow 1, 5, 25, 125, 625, then
	// MaxBatch (as SQLAlchemy's buffered cursor), so the first row arrives at
	// once and a large result moves in large batches. Default 1000.
	MaxBatch int
	// FixedBatch, when > 0, sends batches of exactly that many rows from the
	// start (the reference's yield_per); MaxBatch is then ignored.
	FixedBatch int
	// MaxBatchBytes ends a batch early once its values reach this many
	// bytes, so wide rows do not make batches huge. Default 4 MiB.
	MaxBatchBytes int
	// Buffer is how many batches the channel between producer and consumer
	// holds. Default 4. Memory is bounded by (Buffer+2) batches: the
	// channel, the batch being filled and the batch being read; a batch is
	// at most MaxBatch rows and MaxBatchBytes plus one row.
	Buffer int
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.FixedBatch > 0 {
		o.MaxBatch = o.FixedBatch
	}
	if o.Buffer <= 0 {
		o.Buffer = 4
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 4 << 20
	}
	return o
}

// batchSizes yields the growing batch sizes.
type batchSizes struct {
	next, max int
}

func newBatchSizes(o Options) batchSizes {
	if o.FixedBatch > 0 {
		return batchSizes{next: o.FixedBatch, max: o.FixedBatch}
	}
	return batchSizes{next: 1, max: o.MaxBatch}
}

func (s *batchSizes) take() int {
	n := min(s.next, s.max)
	s.next = min(s.next*5, s.max)
	return n
}

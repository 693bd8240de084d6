package buffered

// Ready reports whether the next row is already in memory (in the block
// the view is reading), so that the next read does not wait for the
// source. A reader that batches rows for another goroutine uses it to
// hand over what it holds before it would block. For an in-memory result
// it is true until the last block is read. It costs two comparisons.
func (v *View[T]) Ready() bool {
	return v.rs.blk != nil && v.rs.pos < v.rs.blk.nrow
}

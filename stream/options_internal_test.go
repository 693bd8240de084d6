package stream

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func take(o Options, n int) []int {
	s := batchSizes(o.withDefaults())
	var got []int
	for range n {
		got = append(got, s.Next())
	}
	return got
}

func TestBatchSizes_GrowLikeTheReference(t *testing.T) {
	assert.Equal(t, []int{1, 5, 25, 125, 625, 1000, 1000, 1000}, take(Options{}, 8))
}

func TestBatchSizes_Fixed(t *testing.T) {
	assert.Equal(t, []int{256, 256}, take(Options{FixedBatch: 256}, 2))
}

func TestBatchSizes_MaxCaps(t *testing.T) {
	assert.Equal(t, []int{1, 5, 10, 10}, take(Options{MaxBatch: 10}, 4))
}

package stream

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBatchSizes_GrowLikeTheReference(t *testing.T) {
	s := newBatchSizes(Options{}.withDefaults())
	var got []int
	for range 8 {
		got = append(got, s.take())
	}
	assert.Equal(t, []int{1, 5, 25, 125, 625, 1000, 1000, 1000}, got)
}

func TestBatchSizes_Fixed(t *testing.T) {
	s := newBatchSizes(Options{FixedBatch: 256}.withDefaults())
	assert.Equal(t, 256, s.take())
	assert.Equal(t, 256, s.take())
}

func TestBatchSizes_MaxCaps(t *testing.T) {
	s := newBatchSizes(Options{MaxBatch: 10}.withDefaults())
	assert.Equal(t, []int{1, 5, 10, 10}, []int{s.take(), s.take(), s.take(), s.take()})
}

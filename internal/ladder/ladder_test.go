package ladder

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func take(l Ladder, n int) []int {
	var got []int
	for range n {
		got = append(got, l.Next())
	}
	return got
}

func TestLadder_GrowsByFactorToTheCap(t *testing.T) {
	assert.Equal(t, []int{1, 5, 25, 125, 625, 1000, 1000}, take(New(1000), 7))
	assert.Equal(t, []int{1, 5, 10, 10}, take(New(10), 4))
	assert.Equal(t, []int{1, 1}, take(New(0), 2), "a cap below one is one")
}

func TestLadder_Fixed(t *testing.T) {
	assert.Equal(t, []int{256, 256}, take(Fixed(256), 2))
	assert.Equal(t, []int{1}, take(Fixed(-3), 1))
}

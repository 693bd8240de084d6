package grow

import (
	"slices"
	"testing"
)

func take(l Ladder, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = l.Next()
	}
	return out
}

func TestLadder(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Ladder
		want []int
	}{
		{"stream batches", New(1, 5, 1000), []int{1, 5, 25, 125, 625, 1000, 1000}},
		{"pipe chunks", New(1, 4, 256), []int{1, 4, 16, 64, 256, 256}},
		{"slabs", New(8, 2, 256), []int{8, 16, 32, 64, 128, 256, 256}},
		{"fixed", Fixed(50), []int{50, 50, 50}},
		{"max below first", New(10, 2, 3), []int{10, 10}},
		{"first below 1", New(0, 3, 9), []int{1, 3, 9, 9}},
		{"no growth", New(4, 1, 100), []int{4, 4}},
	} {
		if got := take(tc.l, len(tc.want)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

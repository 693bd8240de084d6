package buffered_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/streamcat/streamcat/buffered"
)

func TestBorrowRow_SharesTheValues(t *testing.T) {
	big := []byte("a large value")
	values := [][]byte{big, nil, []byte("x")}
	b := buffered.BorrowRow(values)
	values[0] = nil // the caller's slice of headers may be reused: the block copied it
	assert.Equal(t, 1, b.Len())
	assert.Equal(t, len(big)+1, b.Bytes())
	assert.Equal(t, big, b.Value(0, 0))
	assert.Same(t, &big[0], &b.Value(0, 0)[0], "the value is not copied")
	assert.Nil(t, b.Value(0, 1), "NULL stays NULL")
	v := b.Value(0, 0)
	assert.Equal(t, len(v), cap(v), "a reader cannot append into the borrowed memory")

	b.Reset()
	assert.Zero(t, b.Len())
	assert.Zero(t, b.Bytes())
	b.AppendRow([][]byte{[]byte("p"), nil, []byte("q")})
	assert.Equal(t, []byte("q"), b.Value(0, 2), "a reset borrowed block is an ordinary block")
}

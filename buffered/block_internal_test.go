package buffered

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Values are found from 4-byte end offsets: NULL and the empty value are
// told apart, a block cut midway (from) starts at its first row's first
// value, and Trim keeps every value while giving the room back.
func TestBlock_EndOffsets(t *testing.T) {
	b := NewBlock(3, 1, 1)
	rows := [][][]byte{
		{[]byte("a"), nil, []byte("")},
		{nil, []byte("bcd"), nil},
		{[]byte(""), []byte("e"), []byte("fg")},
	}
	for _, r := range rows {
		require.True(t, b.Fits(r))
		b.AppendRow(r)
	}
	check := func(t *testing.T, b *Block, first int) {
		t.Helper()
		require.Equal(t, len(rows)-first, b.Len())
		for i, r := range rows[first:] {
			for j, v := range r {
				got := b.Value(i, j)
				assert.Equal(t, v == nil, got == nil, "row %d col %d: NULL or not", first+i, j)
				assert.Equal(t, string(v), string(got), "row %d col %d", first+i, j)
			}
		}
	}
	check(t, b, 0)
	check(t, b.from(1), 1)
	check(t, b.from(2), 2)
	check(t, b.from(1).from(1), 2)
	assert.Equal(t, 7, b.Bytes())

	b.data = append(make([]byte, 0, 1000), b.data...)
	b.Trim()
	assert.Equal(t, len(b.data), cap(b.data), "Trim gives the room back")
	check(t, b, 0)

	b.Reset()
	assert.Equal(t, 0, b.Len())
	b.AppendRow([][]byte{nil, []byte("x"), nil})
	assert.Nil(t, b.Value(0, 0))
	assert.Equal(t, "x", string(b.Value(0, 1)))
}

// A value's end offset has 31 bits: a row that would take a non-empty
// block past them does not fit (the caller starts a new block); an empty
// block takes any row.
func TestBlock_FitsWithin31BitOffsets(t *testing.T) {
	assert.True(t, fitsIn(maxBlockData-5, 5))
	assert.False(t, fitsIn(maxBlockData-5, 6))
	assert.Equal(t, uint32(maxBlockData), uint32(nullBit-1), "the largest end offset leaves the NULL bit free")
	b := NewBlock(1, 1, 0)
	assert.True(t, b.Fits([][]byte{make([]byte, 10)}), "an empty block takes any row")
}

// A buffered result lets go of a block once the reader has it, so reading
// front to back frees the raw rows behind the read position.
func TestBlocks_NextLetsGoOfWhatItHandedOut(t *testing.T) {
	a, b := NewBlock(1, 1, 1), NewBlock(1, 1, 1)
	a.AppendRow([][]byte{[]byte("a")})
	b.AppendRow([][]byte{[]byte("b")})
	all := []*Block{a, b}
	src := &blocks{list: all}
	got, err := src.Next()
	require.NoError(t, err)
	require.Same(t, a, got)
	assert.Nil(t, all[0], "the source no longer holds the block it handed out")
	assert.Same(t, b, all[1])
	assert.Equal(t, 1, src.remaining())
}

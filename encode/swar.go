package encode

import "encoding/binary"

// Word-at-a-time scanning: the encoders skip 8 bytes at a time while none
// of them needs attention, testing all 8 with a few integer operations
// instead of a table lookup per byte. Each test is exact as a yes/no answer
// (the classic "has zero byte" / "has byte less than n" bit tricks).

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load8 reads 8 bytes of b from i on; the caller ensures i+8 <= len(b).
func load8(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// splat repeats c in every byte of a word.
func splat(c byte) uint64 { return lsb * uint64(c) }

// hasZero reports whether a byte of x is zero.
func hasZero(x uint64) bool { return (x-lsb)&^x&msb != 0 }

// hasByte reports whether a byte of x equals the byte splatted in c.
func hasByte(x, c uint64) bool { return hasZero(x ^ c) }

// hasControl reports whether a byte of x is below 0x20.
func hasControl(x uint64) bool { return (x-splat(0x20))&^x&msb != 0 }

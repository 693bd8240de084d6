package encode

import (
	"math/rand/v2"
	"testing"
)

// TestSWARMatchesBytewise compares the word tests with a byte loop on
// random words biased towards the interesting bytes.
func TestSWARMatchesBytewise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	interesting := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '\\', ',', '\t', '\n', '\r', 0x7f, 0x80, 0xff, 'a'}
	var w [8]byte
	for n := 0; n < 200000; n++ {
		for i := range w {
			if r.IntN(2) == 0 {
				w[i] = interesting[r.IntN(len(interesting))]
			} else {
				w[i] = byte(r.Uint32())
			}
		}
		c := interesting[r.IntN(len(interesting))]
		x := load8(w[:], 0)
		var wantByte, wantZero, wantControl bool
		for _, b := range w {
			wantByte = wantByte || b == c
			wantZero = wantZero || b == 0
			wantControl = wantControl || b < 0x20
		}
		if hasByte(x, splat(c)) != wantByte || hasZero(x) != wantZero || hasControl(x) != wantControl {
			t.Fatalf("word %q, byte %q: hasByte %v hasZero %v hasControl %v", w, c, hasByte(x, splat(c)), hasZero(x), hasControl(x))
		}
	}
}

package faultproxy

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

func frame(typ byte, body string) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(4+len(body)))
	return append(b, body...)
}

// The parser must not care how the bytes are split into reads.
func TestFrames_SplitAnywhere(t *testing.T) {
	startup := make([]byte, 8)
	binary.BigEndian.PutUint32(startup, 8)
	binary.BigEndian.PutUint32(startup[4:], 196608)
	var stream []byte
	stream = append(stream, startup...)
	stream = append(stream, frame('Q', "commit\x00")...)
	stream = append(stream, frame('S', "")...)
	stream = append(stream, frame('P', "s1\x00select 1\x00\x00\x00")...)
	for _, chunk := range []int{1, 2, 3, 5, 7, len(stream)} {
		f := frames{untyped: true, collect: true}
		var got []string
		for b := stream; len(b) > 0; {
			n := min(chunk, len(b))
			f.feed(b[:n], func(m *message) {
				if m.untyped {
					f.untyped = false
					got = append(got, "startup")
					return
				}
				got = append(got, string(m.typ)+":"+cstring(m.body, 0))
			})
			b = b[n:]
		}
		assert.Equal(t, []string{"startup", "Q:commit", "S:", "P:s1"}, got, "chunk %d", chunk)
	}
}

func TestQuery_Matches(t *testing.T) {
	m := Query("commit", "end")
	assert.True(t, m("COMMIT"))
	assert.True(t, m(" commit ; "))
	assert.True(t, m("end"))
	assert.False(t, m("commit and chain"))
}

package faultproxy

import "bytes"

// frames splits a byte stream into protocol messages: a type byte and a
// 4-byte big-endian length that counts itself, or, during start-up, just
// the length. It keeps the bodies of the messages it is asked to.
type frames struct {
	untyped bool // start-up: the next message has no type byte
	collect bool // keep the bodies keepBody asks for (client side)
	hdr     [5]byte
	hn      int // header bytes read
	left    int // body bytes still to read
	inBody  bool
	cur     message
}

// message is one parsed message.
type message struct {
	untyped bool
	typ     byte
	body    []byte
}

// keepBody says which client messages the proxy reads the body of: the
// start-up request and those that carry SQL or name it.
func keepBody(m *message) bool {
	if m.untyped {
		return true
	}
	switch m.typ {
	case 'Q', 'P', 'B', 'E':
		return true
	}
	return false
}

// atStart reports whether the next byte starts a message.
func (f *frames) atStart() bool { return f.hn == 0 && !f.inBody }

// feed parses all of b, calling fn for each client message completed.
func (f *frames) feed(b []byte, fn func(*message)) {
	for len(b) > 0 {
		n, m := f.step(b)
		b = b[n:]
		if m != nil {
			fn(m)
		}
	}
}

// step consumes a prefix of b (at least one byte) and returns its length
// and the message it completed, if any.
func (f *frames) step(b []byte) (int, *message) {
	if !f.inBody {
		need := 5
		if f.untyped {
			need = 4
		}
		n := copy(f.hdr[f.hn:need], b)
		f.hn += n
		if f.hn < need {
			return n, nil
		}
		f.hn = 0
		f.cur = message{untyped: f.untyped}
		lenAt := 0
		if !f.untyped {
			f.cur.typ = f.hdr[0]
			lenAt = 1
		}
		f.left = max(int(be32(f.hdr[lenAt:]))-4, 0)
		f.inBody = true
		if f.left == 0 {
			f.inBody = false
			return n, &f.cur
		}
		return n, nil
	}
	n := min(f.left, len(b))
	if f.collect && keepBody(&f.cur) {
		f.cur.body = append(f.cur.body, b[:n]...)
	}
	f.left -= n
	if f.left > 0 {
		return n, nil
	}
	f.inBody = false
	return n, &f.cur
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// cstringAt returns the NUL-terminated string at off in b and the offset
// after it.
func cstringAt(b []byte, off int) (string, int) {
	if off >= len(b) {
		return "", len(b)
	}
	i := bytes.IndexByte(b[off:], 0)
	if i < 0 {
		return string(b[off:]), len(b)
	}
	return string(b[off : off+i]), off + i + 1
}

func cstring(b []byte, off int) string {
	s, _ := cstringAt(b, off)
	return s
}

package stream

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// socketPeek looks at a connection's socket without reading from it: how
// many bytes wait in the kernel, the first of them, and whether bytes come
// within a wait. Linux only (ioctl TIOCINQ, recv MSG_PEEK, ppoll).
type socketPeek struct {
	rc syscall.RawConn
}

// newSocketPeek returns nil when conn is not a plain socket (TLS, a test
// double): bytes in the kernel are then not the protocol's bytes.
func newSocketPeek(conn net.Conn) *socketPeek {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &socketPeek{rc: rc}
}

// queued returns how many bytes wait in the socket's receive queue.
func (s *socketPeek) queued() int {
	n := 0
	_ = s.rc.Control(func(fd uintptr) {
		var v int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&v))); errno == 0 {
			n = int(v)
		}
	})
	return n
}

// peek copies the first len(p) queued bytes into p without consuming them,
// and returns how many it copied.
func (s *socketPeek) peek(p []byte) int {
	n := 0
	_ = s.rc.Control(func(fd uintptr) {
		if k, _, err := syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT); err == nil {
			n = k
		}
	})
	return n
}

// readableWithin reports whether the socket has bytes to read now or within
// d (a level-triggered ppoll: true at once when any byte is queued).
func (s *socketPeek) readableWithin(d time.Duration) bool {
	ready := false
	_ = s.rc.Control(func(fd uintptr) {
		pfd := struct {
			fd      int32
			events  int16
			revents int16
		}{fd: int32(fd), events: pollIn}
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		ready = errno == 0 && n == 1 && pfd.revents&pollIn != 0
	})
	return ready
}

// pollIn is POLLIN: there is data to read.
const pollIn = 0x1

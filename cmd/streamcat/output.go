package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
)

// countingWriter counts the bytes written through it (read concurrently by
// the progress line).
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// sink is where the rows go: stdout, or a temporary file renamed over the
// -o FILE at commit.
type sink struct {
	w    io.Writer
	tmp  *os.File // nil for stdout
	dest string
}

// openSink opens the output. With path empty it is stdout.
func openSink(path string, stdout io.Writer) (*sink, error) {
	if path == "" {
		return &sink{w: stdout}, nil
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, usagef("-o %s: is a directory", path)
	}
	f, err := os.CreateTemp(dir, ".streamcat-*")
	if err != nil {
		return nil, usagef("-o %s: %v", path, err)
	}
	return &sink{w: f, tmp: f, dest: path}, nil
}

// commit moves the finished temporary file over the destination.
func (s *sink) commit() error {
	if s.tmp == nil {
		return nil
	}
	f := s.tmp
	s.tmp = nil
	mode := os.FileMode(0o666)
	if fi, err := os.Stat(s.dest); err == nil {
		mode = fi.Mode().Perm() // keep the mode of the file we replace
	} else {
		mask := syscall.Umask(0)
		syscall.Umask(mask)
		mode &^= os.FileMode(mask)
	}
	err := f.Chmod(mode)
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), s.dest)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("-o %s: %w", s.dest, err)
	}
	return nil
}

// abort removes the temporary file, if the output was not committed.
func (s *sink) abort() {
	if s == nil || s.tmp == nil {
		return
	}
	s.tmp.Close()
	os.Remove(s.tmp.Name())
	s.tmp = nil
}

// isBrokenPipe reports a write to a closed pipe (the reader, as head, went
// away).
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}

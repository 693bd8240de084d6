package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// sink is where the rows go: stdout, a file or device written straight
// through, or a temporary file renamed over a regular file at commit.
//
// -o PATH, by what PATH is:
//   - missing or a regular file: rows go to a temporary file next to it,
//     which is synced and renamed over PATH only when the query succeeded
//     (the directory is synced after the rename), so PATH is never left
//     half-written;
//   - a symbolic link to a regular file: the same for the file it points
//     to; the link stays;
//   - anything else (a FIFO, /dev/null, a terminal, /dev/stdout, a
//     dangling link): written straight through, as a shell redirection
//     would;
//   - a directory: a usage error.
type sink struct {
	w    io.Writer
	user string   // the path as the user wrote it, for messages
	file *os.File // a file opened for -o (temporary or straight through); nil for stdout
	dest string   // where the temporary file goes at commit; "" when written straight through

	mu   sync.Mutex // abort may run on the signal goroutine
	done bool
}

// openSink opens the output. With path empty it is stdout.
func openSink(path string, stdout io.Writer) (*sink, error) {
	if path == "" {
		return &sink{w: stdout}, nil
	}
	s := &sink{user: path}
	dest, straight, err := renameTarget(path)
	if err != nil {
		return nil, err
	}
	if straight {
		f, err := openStraight(path)
		if err != nil {
			return nil, usagef("-o %s: %v", path, pathErr(err))
		}
		s.file = f
		s.w = &fileWriter{f: f, user: path}
		return s, nil
	}
	removeStaleTemps(dest)
	f, err := createTemp(dest)
	if err != nil {
		return nil, usagef("-o %s: %v", path, pathErr(err))
	}
	s.file, s.dest = f, dest
	s.w = &fileWriter{f: f, user: path}
	return s, nil
}

// renameTarget decides how -o path is written: the file a temporary file is
// renamed over, or straight (write through path itself).
func renameTarget(path string) (dest string, straight bool, err error) {
	li, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, false, nil
	case err != nil:
		return "", false, usagef("-o %s: %v", path, pathErr(err))
	case li.IsDir():
		return "", false, usagef("-o %s: is a directory", path)
	case li.Mode().IsRegular():
		return path, false, nil
	case li.Mode()&fs.ModeSymlink == 0:
		return "", true, nil // a FIFO, a device, a socket
	}
	// A symbolic link: replace the regular file it points to. Links into
	// /proc (/dev/stdout, /dev/fd/N) name open descriptors, not files to
	// replace.
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return "", true, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil || strings.HasPrefix(real, "/proc/") {
		return "", true, nil
	}
	return real, false, nil
}

// openStraight opens a path that is written through: a regular file reached
// through /proc (stdout redirected to a file) is appended to, as the shell's
// descriptor would be, never truncated.
func openStraight(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o666)
}

// commit finishes the output: a temporary file is synced, given the mode
// of the file it replaces (or 0666 less the umask), renamed over the
// destination, and the directory is synced so the rename survives a power
// loss.
func (s *sink) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil || s.done {
		return nil
	}
	s.done = true
	f := s.file
	if s.dest == "" {
		if err := f.Close(); err != nil {
			return fmt.Errorf("-o %s: %v", s.user, pathErr(err))
		}
		return nil
	}
	err := fsyncFile(f)
	if err == nil {
		err = f.Chmod(destMode(s.dest))
	}
	// Rename while the file is still open and locked, so no other run can
	// take it for a stale one in between (see removeStaleTemps).
	if err == nil {
		err = os.Rename(f.Name(), s.dest)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("-o %s: %v", s.user, pathErr(err))
	}
	if err := fsyncDir(filepath.Dir(s.dest)); err != nil {
		f.Close()
		return fmt.Errorf("-o %s: sync directory: %v", s.user, pathErr(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("-o %s: %v", s.user, pathErr(err))
	}
	return nil
}

// abort removes the temporary file, if the output was not committed. Safe
// from any goroutine and more than once.
func (s *sink) abort() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil || s.done {
		return
	}
	s.done = true
	if s.dest != "" {
		os.Remove(s.file.Name())
	}
	s.file.Close()
}

// destMode is the mode for the file renamed over dest: that of the file it
// replaces, else 0666 less the umask, as a newly created file would get.
func destMode(dest string) os.FileMode {
	if fi, err := os.Stat(dest); err == nil {
		return fi.Mode().Perm()
	}
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	return os.FileMode(0o666) &^ os.FileMode(mask)
}

// fsyncFile and fsyncDir are variables so a test can watch when they run
// (a power loss, which they guard against, cannot be produced in a test).
var (
	fsyncFile = (*os.File).Sync
	fsyncDir  = syncDir
)

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// fileWriter reports write errors under the user's -o path rather than the
// temporary file's name.
type fileWriter struct {
	f    *os.File
	user string
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &os.PathError{Op: "write", Path: w.user, Err: pathErr(err)}
	}
	return n, err
}

// pathErr strips the path from an *os.PathError or *os.LinkError (which
// may name the temporary file), keeping the system error.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// countingWriter counts the bytes written through it (read concurrently by
// the progress line).
type countingWriter struct {
	w  io.Writer
	n  atomic.Int64
	rc *recordCounter // counts complete rows written, for --stats; may be nil
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	if c.rc != nil {
		c.rc.scan(p[:n])
	}
	return n, err
}

// isBrokenPipe reports a write to a closed pipe (the reader, as head, went
// away).
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}

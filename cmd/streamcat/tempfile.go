package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Temporary files of -o are named ".NAME.streamcat-RANDOM.tmp" next to the
// file NAME they will replace, and the run holds an exclusive flock on its
// own for as long as it writes. A run killed with SIGKILL cannot remove
// its file, but the kernel drops its lock: the next run writing to NAME
// removes every such file that nobody holds a lock on and that has not
// been written to for staleAge (the age closes the moment between another
// run creating its file and locking it).
const (
	tempInfix  = ".streamcat-"
	tempSuffix = ".tmp"
	staleAge   = time.Minute
)

// createTemp creates and locks the temporary file for dest.
func createTemp(dest string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+tempInfix+"*"+tempSuffix)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// removeStaleTemps removes the temporary files for dest left by runs that
// died (see createTemp). It is best effort: what it cannot remove stays.
func removeStaleTemps(dest string) {
	dir, prefix := filepath.Dir(dest), "."+filepath.Base(dest)+tempInfix
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, tempSuffix) {
			continue
		}
		removeIfStale(filepath.Join(dir, name))
	}
}

func removeIfStale(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || time.Since(fi.ModTime()) < staleAge {
		return
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return // a live run is writing it
	}
	os.Remove(path)
}

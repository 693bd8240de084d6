package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommitSyncsFileThenDirectory: the temporary file is synced before it
// is renamed over the destination, and the directory after, so a power
// loss cannot leave an empty or missing file behind the new name. The
// power loss itself cannot be produced in a test: the sync calls are
// watched instead.
func TestCommitSyncsFileThenDirectory(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(dest, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls []string
	oldFile, oldDir := fsyncFile, fsyncDir
	t.Cleanup(func() { fsyncFile, fsyncDir = oldFile, oldDir })
	fsyncFile = func(f *os.File) error {
		b, _ := os.ReadFile(dest)
		calls = append(calls, "file (dest holds "+string(b)+")")
		return f.Sync()
	}
	fsyncDir = func(d string) error {
		b, _ := os.ReadFile(dest)
		calls = append(calls, "dir "+filepath.Base(d)+" (dest holds "+string(b)+")")
		return syncDir(d)
	}
	s, err := openSink(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Write([]byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.commit(); err != nil {
		t.Fatal(err)
	}
	want := []string{"file (dest holds old\n)", "dir " + filepath.Base(dir) + " (dest holds new\n)"}
	if len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Errorf("sync calls %q, want %q", calls, want)
	}
}

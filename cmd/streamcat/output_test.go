package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamcat/streamcat/internal/testdb"
)

const threeRows = "select g from generate_series(1,3) g"

// TestOutputNonRegularTargets: -o writes through what is not a regular
// file, and leaves it what it was.
func TestOutputNonRegularTargets(t *testing.T) {
	t.Run("dev null", func(t *testing.T) {
		wantOK(t, sc(t, "-o", "/dev/null", threeRows))
		if fi, err := os.Lstat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("/dev/null is no longer a character device: %v %v", fi.Mode(), err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			f, err := os.Open(fifo) // blocks until streamcat opens it for writing
			if err != nil {
				got <- err.Error()
				return
			}
			defer f.Close()
			b, _ := io.ReadAll(f)
			got <- string(b)
		}()
		wantOK(t, sc(t, "-o", fifo, threeRows))
		select {
		case s := <-got:
			if s != "1\n2\n3\n" {
				t.Errorf("read %q from the FIFO", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nothing came through the FIFO")
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
		}
	})
	t.Run("symlink to stdout", func(t *testing.T) {
		// /dev/stdout is a link to /proc/self/fd/1; a link of our own keeps
		// the test from touching the real one.
		link := filepath.Join(t.TempDir(), "stdout")
		if err := os.Symlink("/proc/self/fd/1", link); err != nil {
			t.Fatal(err)
		}
		r := sc(t, "-o", link, threeRows)
		wantOK(t, r)
		if r.stdout != "1\n2\n3\n" {
			t.Errorf("stdout %q", r.stdout)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
		}
	})
	t.Run("dash is stdout", func(t *testing.T) {
		r := sc(t, "-o", "-", threeRows)
		wantOK(t, r)
		if r.stdout != "1\n2\n3\n" {
			t.Errorf("stdout %q", r.stdout)
		}
		if _, err := os.Lstat("-"); err == nil {
			t.Error(`created a file named "-"`)
		}
	})
}

// TestOutputSymlinkToFile: the file a link points to is replaced, the
// link stays.
func TestOutputSymlinkToFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.csv")
	if err := os.WriteFile(real, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.csv")
	if err := os.Symlink("real.csv", link); err != nil {
		t.Fatal(err)
	}
	wantOK(t, sc(t, "-o", link, threeRows))
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
	b, err := os.ReadFile(real)
	if err != nil || string(b) != "1\n2\n3\n" {
		t.Errorf("target holds %q, %v", b, err)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the replaced file's 0640", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestOutputErrorNamesUserPath: errors name -o's path, not the
// temporary file.
func TestOutputErrorNamesUserPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "out.csv")
	r := sc(t, "-o", path, threeRows)
	wantFail(t, r, 2, "-o "+path+": no such file or directory")
	if strings.Contains(r.stderr, ".streamcat-") {
		t.Errorf("stderr names the temporary file: %q", r.stderr)
	}
	wantFail(t, sc(t, "-o", t.TempDir(), threeRows), 2, "is a directory")
}

// TestStaleTempFilesRemoved: a SIGKILLed run leaves its temporary file;
// the next run to the same file removes it once nobody holds its lock, and
// leaves the file of a live run alone.
func TestStaleTempFilesRemoved(t *testing.T) {
	t.Parallel() // slow, and independent of the other tests
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	marker := "kill_marker_5521"
	cmd := command(t, "--dsn", testdb.DSN(), "-o", out, "select 1 as "+marker+" union all select pg_sleep(30)::text::int")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testdb.WaitActive(t, marker)
	temps, _ := filepath.Glob(filepath.Join(dir, ".out.csv.streamcat-*.tmp"))
	if len(temps) != 1 {
		t.Fatalf("temporary files while running: %v", temps)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	testdb.Terminate(t, marker) // pg_sleep does not notice the dead client

	// A file a live process holds locked stays, as does a fresh one.
	live := filepath.Join(dir, ".out.csv.streamcat-live.tmp")
	lf, err := os.Create(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, ".out.csv.streamcat-fresh.tmp")
	if err := os.WriteFile(fresh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, ".other.csv.streamcat-x.tmp") // another destination's
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleAge)
	for _, p := range []string{temps[0], live, other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	wantOK(t, sc(t, "-o", out, threeRows))
	if _, err := os.Stat(temps[0]); err == nil {
		t.Errorf("the killed run's %s is still there", filepath.Base(temps[0]))
	}
	for _, p := range []string{live, fresh, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, []byte("1\n2\n3\n")) {
		t.Errorf("out.csv: %q", b)
	}
}

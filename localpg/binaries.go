package localpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned by Start when no directory holding both initdb and
// postgres can be found.
var ErrNoBinaries = errors.New("localpg: PostgreSQL server binaries (initdb, postgres) not found; " +
	"install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) " +
	"or set Options.BinDir")

// findBinDir returns a directory that holds both initdb and postgres. It looks,
// in order, at dir (when set), the directory of initdb on PATH, `pg_config
// --bindir`, and /usr/lib/postgresql/*/bin with the newest version first.
func findBinDir(dir string) (string, error) {
	if dir != "" {
		if hasServerBinaries(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("localpg: %s does not hold initdb and postgres: %w", dir, ErrNoBinaries)
	}
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	candidates = append(candidates, versionedDirs("/usr/lib/postgresql/*/bin")...)
	candidates = append(candidates, versionedDirs("/usr/local/opt/postgresql*/bin")...)
	for _, c := range candidates {
		if hasServerBinaries(c) {
			return c, nil
		}
	}
	return "", ErrNoBinaries
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionedDirs expands pattern and orders the matches by the first number in
// the path, newest first (so 16 comes before 9.6).
func versionedDirs(pattern string) []string {
	matches, _ := filepath.Glob(pattern)
	version := func(p string) float64 {
		for _, part := range strings.Split(p, string(filepath.Separator)) {
			part = strings.TrimPrefix(part, "postgresql@")
			if v, err := strconv.ParseFloat(part, 64); err == nil {
				return v
			}
		}
		return 0
	}
	sort.SliceStable(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return matches
}

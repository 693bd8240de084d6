// Package procstat reads CPU times from Linux's /proc for the benchmarks
// (package bench and bench/clibench): a local PostgreSQL cluster's (its
// postmaster and the backends under it) and the whole machine's, so that
// a measurement can say how much of the machine the server and everyone
// else used meanwhile. Every reading is -1 (a duration) or 0 (a pid) when
// it cannot be made: on other systems, or for a server that is not a
// local process.
package procstat

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PostmasterPID reads a cluster's postmaster pid from the postmaster.pid
// file of its data directory (clusterDir/data, as localpg lays clusters
// out), or 0.
func PostmasterPID(clusterDir string) int {
	b, err := os.ReadFile(filepath.Join(clusterDir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0
	}
	return pid
}

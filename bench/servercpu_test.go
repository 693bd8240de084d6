package bench

import (
	"time"

	"github.com/streamcat/streamcat/internal/procstat"
)

// benchServerPID is the benchmark cluster's postmaster, or 0 when it is not
// a local process of this machine (STREAMCAT_TEST_DSN) or is not known.
var benchServerPID int

// setServerPID reads the postmaster's pid from the cluster's data directory.
func setServerPID(clusterDir string) { benchServerPID = procstat.PostmasterPID(clusterDir) }

// serverCPU returns the CPU time the benchmark cluster has used so far
// (procstat.ClusterCPU), or -1 where it cannot be read: the difference
// over a benchmark is the server's CPU for what it ran.
func serverCPU() time.Duration { return procstat.ClusterCPU(benchServerPID) }

// machineIdle is the time all CPUs have spent idle since boot, or -1: over
// a benchmark, idle/wall is how many cores nobody used.
func machineIdle() time.Duration { return procstat.MachineIdle() }

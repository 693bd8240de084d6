//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// benchServerPID is the benchmark cluster's postmaster, or 0 when it is not
// a local process of this machine (STREAMCAT_TEST_DSN) or is not known.
var benchServerPID int

// setServerPID reads the postmaster's pid from the cluster's data directory.
func setServerPID(clusterDir string) {
	b, err := os.ReadFile(filepath.Join(clusterDir, "data", "postmaster.pid"))
	if err != nil {
		return
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
		benchServerPID = pid
	}
}

// serverCPU returns the CPU time the benchmark cluster has used so far, or
// -1 when it cannot be read: the postmaster's own, each live child's (the
// backends of the pool's connections among them) from
// /proc/PID/schedstat, in nanoseconds, and the exited children's from the
// postmaster's cutime+cstime (10 ms ticks; a backend's time moves there
// when it exits, so the sum does not go back). The difference over a
// benchmark is the server's CPU for what it ran, plus the idle background
// processes' (checkpointer, walwriter, ...: microseconds per second).
func serverCPU() time.Duration {
	pm := benchServerPID
	if pm == 0 {
		return -1
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pm))
	if err != nil {
		return -1
	}
	f := statFields(stat)
	if len(f) < 15 {
		return -1
	}
	cu, err1 := strconv.ParseInt(f[13], 10, 64)
	cs, err2 := strconv.ParseInt(f[14], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	const clkTck = 100 // USER_HZ on Linux
	total := time.Duration(cu+cs) * time.Second / clkTck
	own, ok := schedRun(pm)
	if !ok {
		return -1
	}
	total += own
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	want := strconv.Itoa(pm)
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile: its time is in cutime by now or soon
		}
		if f := statFields(stat); len(f) > 1 && f[1] == want { // ppid
			if run, ok := schedRun(pid); ok {
				total += run
			}
		}
	}
	return total
}

// statFields are the fields of /proc/PID/stat after the command name (which
// is in parentheses and may hold spaces): state is [0], ppid [1], utime
// [11], stime [12], cutime [13], cstime [14].
func statFields(stat []byte) []string {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(stat[i+1:]))
}

// schedRun is the time pid has run on a CPU, in nanoseconds (the first
// field of /proc/PID/schedstat, summed over its threads).
func schedRun(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), " ")
	ns, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ns), true
}

// machineIdle is the time all CPUs have spent idle since boot (idle and
// iowait of the first line of /proc/stat, 10 ms ticks), or -1. Over a
// benchmark, idle/wall is how many cores nobody used: near 0, the cores
// were the bound.
func machineIdle() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return -1
	}
	var ticks int64
	for _, i := range []int{4, 5} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return -1
		}
		ticks += v
	}
	const clkTck = 100
	return time.Duration(ticks) * time.Second / clkTck
}

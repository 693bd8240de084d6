//go:build linux

package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const clkTck = 100 // USER_HZ on Linux: the unit of /proc's tick counts

// ExitedChildrenCPU is the CPU time of pid's exited children (cutime +
// cstime of /proc/PID/stat, 10 ms ticks): a backend's time is added to the
// postmaster's when the backend exits. -1 when it cannot be read.
func ExitedChildrenCPU(pid int) time.Duration {
	if pid == 0 {
		return -1
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
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
	return time.Duration(cu+cs) * time.Second / clkTck
}

// ClusterCPU is the CPU time a cluster has used so far: its postmaster's
// own and each live child's (the backends of open connections among them)
// from /proc/PID/schedstat, in nanoseconds, plus the exited children's
// (ExitedChildrenCPU; the sum does not go back when a backend exits). The
// difference over a measurement is the server's CPU for what it ran, plus
// the idle background processes' (checkpointer, walwriter, ...:
// microseconds a second). -1 when it cannot be read.
func ClusterCPU(pid int) time.Duration {
	total := ExitedChildrenCPU(pid)
	if total < 0 {
		return -1
	}
	own, ok := schedRun(pid)
	if !ok {
		return -1
	}
	total += own
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	want := strconv.Itoa(pid)
	for _, e := range procs {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile: its time is in cutime by now or soon
		}
		if f := statFields(stat); len(f) > 1 && f[1] == want { // ppid
			if run, ok := schedRun(child); ok {
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
// field of /proc/PID/schedstat: its main thread, which is all of a
// PostgreSQL backend).
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

// MachineBusy is the CPU time all CPUs have spent not idle since boot
// (user, nice, system, irq, softirq, steal of /proc/stat's first line), or
// -1. Less a tool's and the server's own time, it is how much else ran on
// the machine during a measurement: the noise.
func MachineBusy() time.Duration { return cpuTicks(1, 2, 3, 6, 7, 8) }

// MachineIdle is the time all CPUs have spent idle since boot (idle and
// iowait), or -1. Over a measurement, idle/wall is how many cores nobody
// used: near 0, the cores were the bound.
func MachineIdle() time.Duration { return cpuTicks(4, 5) }

// cpuTicks sums the given fields of /proc/stat's first line.
func cpuTicks(fields ...int) time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return -1
	}
	var ticks int64
	for _, i := range fields {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return -1
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clkTck
}

// Loadavg is the first three fields of /proc/loadavg, or "n/a".
func Loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

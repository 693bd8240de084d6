//go:build !linux

package bench

import "time"

// The server's CPU and the machine's idle time are read from /proc: on
// other systems they are not measured and their metrics are not reported.

func setServerPID(string) {}

func serverCPU() time.Duration { return -1 }

func machineIdle() time.Duration { return -1 }

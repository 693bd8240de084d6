//go:build !linux

package procstat

import "time"

// Without /proc nothing is measured: every reading is unknown.

func ExitedChildrenCPU(int) time.Duration { return -1 }
func ClusterCPU(int) time.Duration        { return -1 }
func MachineBusy() time.Duration          { return -1 }
func MachineIdle() time.Duration          { return -1 }
func Loadavg() string                     { return "n/a" }

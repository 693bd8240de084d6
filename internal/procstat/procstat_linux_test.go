//go:build linux

package procstat

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPostmasterPID(t *testing.T) {
	dir := t.TempDir()
	assert.Zero(t, PostmasterPID(dir), "no file")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte("4242\n/var/lib/pg\n1700000000\n"), 0o600))
	assert.Equal(t, 4242, PostmasterPID(dir))
}

// A child that burns CPU and exits moves its time into this process's
// exited-children count, and the cluster count (own + live children +
// exited ones) never goes back.
func TestChildrenCPU(t *testing.T) {
	self := os.Getpid()
	before, cluster0 := ExitedChildrenCPU(self), ClusterCPU(self)
	require.GreaterOrEqual(t, before, time.Duration(0))
	require.Positive(t, cluster0, "this process has run")
	burn := exec.Command("sh", "-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done")
	require.NoError(t, burn.Run())
	after := ExitedChildrenCPU(self)
	assert.Greater(t, after, before, "the child's CPU is counted once it exited")
	assert.GreaterOrEqual(t, ClusterCPU(self), cluster0+(after-before))
	assert.Equal(t, time.Duration(-1), ExitedChildrenCPU(0), "pid 0: unknown")
	assert.Equal(t, time.Duration(-1), ClusterCPU(0))
}

func TestMachine(t *testing.T) {
	busy, idle := MachineBusy(), MachineIdle()
	assert.Positive(t, busy)
	assert.GreaterOrEqual(t, idle, time.Duration(0))
	assert.NotEqual(t, "n/a", Loadavg())
}

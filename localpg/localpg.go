// Package localpg starts a throwaway PostgreSQL cluster from the server
// binaries installed on the machine, for tests, benchmarks and
// `streamcat --embedded`.
//
// Start runs initdb into a fresh temporary directory and starts postgres on a
// free port on 127.0.0.1 and on a unix socket in that directory, with fsync
// off and trust authentication; Stop shuts the server down and removes the
// directory. A cluster costs about a second to start and ~40 MB of memory.
//
// PostgreSQL refuses to run as root. When the calling process is root, initdb
// and postgres run as the system user Options.SystemUser ("postgres" by
// default, else "nobody"), and the cluster directory is owned by that user.
//
// The server is a direct child started with Pdeathsig, so a test process that
// is killed does not leave a server running.
package localpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// EnvDSN names the environment variable that makes ForTests use an existing
// server instead of starting one.
const EnvDSN = "STREAMCAT_TEST_DSN"

// Options configures Start. The zero value is ready to use.
type Options struct {
	// BinDir holds initdb and postgres. Empty means search PATH,
	// `pg_config --bindir` and /usr/lib/postgresql/*/bin, newest first.
	BinDir string
	// Dir is the parent of the cluster's temporary directory. Empty means
	// os.TempDir(). When running as root, the parents of Dir are made
	// traversable (o+x) so the server user can reach it.
	Dir string
	// Settings are extra server settings, passed as `postgres -c key=value`.
	// They override the defaults (fsync=off and friends).
	Settings map[string]string
	// SystemUser is the user that runs the server when the process is root.
	// Empty means "postgres", falling back to "nobody".
	SystemUser string
	// StartTimeout bounds initdb plus server start. Zero means 60s.
	StartTimeout time.Duration
	// Port to listen on; 0 picks a free one.
	Port int
}

// Cluster is a running throwaway PostgreSQL server (or, from ForTests with
// STREAMCAT_TEST_DSN set, an external one that Stop leaves alone).
type Cluster struct {
	dsn      string
	dir      string // the whole cluster directory, removed by Stop
	sockDir  string
	port     int
	binDir   string
	cred     *syscall.Credential
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the server process has exited
	waitErr  error
	stopOnce sync.Once
	stopErr  error
	primary  *Cluster // set on a replica made by StartReplica
}

// DSN returns a URL for the cluster's superuser "postgres" over TCP, with
// sslmode=disable. It holds no password.
func (c *Cluster) DSN() string { return c.dsn }

// SocketDSN returns a keyword/value DSN that connects over the unix socket.
// It is empty for an external server.
func (c *Cluster) SocketDSN() string {
	if c.sockDir == "" {
		return ""
	}
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", c.sockDir, c.port)
}

// Dir returns the cluster directory (empty for an external server).
func (c *Cluster) Dir() string { return c.dir }

// Port returns the TCP port the server listens on (0 for an external server).
func (c *Cluster) Port() int { return c.port }

// ForTests returns the server named by STREAMCAT_TEST_DSN when that variable
// is set (Stop then does nothing), and otherwise starts a new cluster.
func ForTests(ctx context.Context, opts Options) (*Cluster, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return &Cluster{dsn: dsn}, nil
	}
	return Start(ctx, opts)
}

const (
	// probeTimeout bounds one connection attempt while the server starts:
	// a local connection answers in milliseconds once it listens.
	probeTimeout = time.Second
	// probeInterval spaces the attempts: start-up takes a few hundred
	// milliseconds, so this costs at most one interval of waiting.
	probeInterval = 50 * time.Millisecond
)

// defaultStartTimeout bounds initdb plus the first start: a few seconds on
// an idle machine, much more on a loaded CI runner with a cold disk cache.
const defaultStartTimeout = 60 * time.Second

// Start initialises and starts a new cluster. The caller must call Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential(opts.SystemUser)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.Dir, "localpg-")
	if err != nil {
		return nil, fmt.Errorf("localpg: create cluster directory: %w", err)
	}
	c := &Cluster{dir: dir, sockDir: filepath.Join(dir, "sock"), binDir: binDir, cred: cred}
	if err := c.prepare(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.listen(ctx, opts.Port, opts.Settings); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// listen starts the server on port, or on a free port when port is 0. A
// free port can be taken by someone else between probing and binding: try a
// few times before giving up.
func (c *Cluster) listen(ctx context.Context, port int, settings map[string]string) error {
	for attempt := 0; ; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = freePort(); err != nil {
				return err
			}
		}
		err := c.start(ctx, p, settings)
		if err == nil || attempt >= 3 || port != 0 || !strings.Contains(err.Error(), "already in use") {
			return err
		}
	}
}

// prepare creates the directories and runs initdb.
func (c *Cluster) prepare(ctx context.Context) error {
	if err := c.makeDirs(); err != nil {
		return err
	}
	return c.runTool(ctx, "initdb",
		"-D", filepath.Join(c.dir, "data"), "--username=postgres", "--auth=trust",
		"--encoding=UTF8", "--no-locale", "--nosync")
}

// makeDirs creates the socket directory and, as root, hands the cluster
// directory to the server user.
func (c *Cluster) makeDirs() error {
	if err := os.Mkdir(c.sockDir, 0o700); err != nil {
		return fmt.Errorf("localpg: %w", err)
	}
	if c.cred != nil {
		if err := makeTraversable(c.dir); err != nil {
			return err
		}
		for _, d := range []string{c.dir, c.sockDir} {
			if err := os.Chown(d, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("localpg: hand %s to the server user: %w", d, err)
			}
		}
	}
	return nil
}

// runTool runs one of the server binaries (initdb, pg_basebackup) as the
// server user, in the cluster directory.
func (c *Cluster) runTool(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("localpg: %s failed: %w\n%s", name, err, tail(string(out), 20))
	}
	return nil
}

func (c *Cluster) start(ctx context.Context, port int, extra map[string]string) error {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    strconv.Itoa(port),
		"unix_socket_directories": c.sockDir,
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"max_connections":         "200",
		"logging_collector":       "off",
	}
	for k, v := range extra {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := []string{"-D", filepath.Join(c.dir, "data")}
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	logPath := filepath.Join(c.dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("localpg: %w", err)
	}
	defer logFile.Close()

	// Not CommandContext: the server must outlive ctx, which only bounds start-up.
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), args...)
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// SIGQUIT is an immediate shutdown that also ends the backends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localpg: start postgres: %w", err)
	}
	c.cmd, c.port, c.exited = cmd, port, make(chan struct{})
	// The waiter is owned by the Cluster: Stop waits for it through c.exited.
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	c.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)

	for {
		probe, cancel := context.WithTimeout(ctx, probeTimeout)
		conn, err := pgconn.Connect(probe, c.dsn)
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("localpg: postgres exited during start-up (%v); log:\n%s", c.waitErr, readTail(logPath, 20))
		case <-ctx.Done():
			c.kill()
			return fmt.Errorf("localpg: postgres did not accept connections in time: %w; log:\n%s", ctx.Err(), readTail(logPath, 20))
		case <-time.After(probeInterval):
		}
	}
}

// stopGrace is how long Stop waits for a fast shutdown (which rolls back
// what is open and writes a checkpoint) before it kills the server: a
// throwaway cluster's data does not matter, but a clean stop keeps the
// log quiet and the port free at once.
const stopGrace = 15 * time.Second

// Stop shuts the server down (fast shutdown, then SIGKILL after 15 s) and
// removes the cluster directory. It is safe to call more than once; for an
// external server it does nothing.
func (c *Cluster) Stop() error {
	if c == nil || c.dir == "" {
		return nil
	}
	c.stopOnce.Do(func() {
		if c.cmd != nil {
			_ = c.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-c.exited:
			case <-time.After(stopGrace):
				c.kill()
			}
		}
		if err := os.RemoveAll(c.dir); err != nil {
			c.stopErr = fmt.Errorf("localpg: remove %s: %w", c.dir, err)
		}
	})
	return c.stopErr
}

func (c *Cluster) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// serverCredential returns nil when the process may run postgres itself, and
// the credential of an unprivileged system user when it is root.
func serverCredential(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	names := []string{name}
	if name == "" {
		names = []string{"postgres", "nobody"}
	}
	var errs []error
	for _, n := range names {
		cred, err := lookupCredential(n)
		if err == nil {
			return cred, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("localpg: running as root, and PostgreSQL will not; no user to run it as "+
		"(create one with `useradd --system postgres` or set Options.SystemUser): %w", errors.Join(errs...))
}

// makeTraversable adds o+x to every parent of dir, so a server user can
// reach a directory created under a 0700 parent such as t.TempDir()'s.
func makeTraversable(dir string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("localpg: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("localpg: make %s traversable for the server user: %w", p, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localpg: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverEnv is the environment for initdb and postgres: the caller's, minus
// PG* variables that would point them at another cluster.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func readTail(path string, n int) string {
	b, _ := os.ReadFile(path)
	return tail(string(b), n)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Package bench measures streamcat against raw pgx doing the same work on a
// real PostgreSQL. See README.md for how to run it and what each benchmark
// compares.
package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/internal/testsupport"
	"github.com/streamcat/streamcat/localpg"
	"github.com/streamcat/streamcat/session"
)

// serverSettings keep the server's side of every benchmark steady on a small
// machine: the tables stay in shared buffers (a sequential scan of a table
// larger than a quarter of shared_buffers goes through a small ring and
// re-reads the OS cache), and no parallel workers compete with the client for
// the cores.
var serverSettings = map[string]string{
	"shared_buffers":                  "1GB",
	"max_parallel_workers_per_gather": "0",
	"jit":                             "off",
	"autovacuum":                      "off",
	"application_name":                "streamcat-bench",
}

// benchPool is the pool every benchmark reads through; TestMain sets it, and
// creates the datasets, only when benchmarks were asked for.
var benchPool *pgxpool.Pool

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		// `go test ./...` without -bench: only the dataset tests run, and
		// they start a small cluster of their own if they need one.
		code := m.Run()
		stopLazy()
		return code
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	pg, err := localpg.ForTests(ctx, localpg.Options{Settings: serverSettings})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	setServerPID(pg.Dir())
	defer func() {
		if err := pg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}()
	// session.NewPool is the configuration sessions are meant to run on;
	// the pgx baselines read through the same pool.
	pool, err := session.NewPool(context.Background(), pg.DSN())
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	defer pool.Close()

	setup, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for _, ds := range datasets {
		n, err := testsupport.EnvRows(ds.envVar, ds.defaultRows)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
		start := time.Now()
		if err := ds.create(setup, pool, ds.name, n); err != nil {
			fmt.Fprintf(os.Stderr, "bench: create dataset %s: %v\n", ds.name, err)
			return 2
		}
		ds.rows = n
		fmt.Fprintf(os.Stderr, "bench: dataset %s: %d rows in %s\n", ds.name, n, time.Since(start).Round(time.Millisecond))
	}
	benchPool = pool

	code := m.Run()

	// On a server of one's own (STREAMCAT_TEST_DSN) leave nothing behind.
	for _, ds := range datasets {
		_, _ = pool.Exec(context.Background(), "drop table if exists "+ds.name)
	}
	stopLazy()
	return code
}

// A cluster for the tests, started on first use when TestMain did not start
// one (no -bench), and stopped by TestMain.
var (
	lazyOnce    sync.Once
	lazyCluster *localpg.Cluster
	lazyPool    *pgxpool.Pool
	lazyErr     error
)

// testPool returns a pool for tests: the benchmarks' when they run, else a
// small cluster's of the package's own.
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	if benchPool != nil {
		return benchPool
	}
	lazyOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		lazyCluster, lazyErr = localpg.ForTests(ctx, localpg.Options{})
		if lazyErr != nil {
			return
		}
		lazyPool, lazyErr = session.NewPool(context.Background(), lazyCluster.DSN())
	})
	if lazyErr != nil {
		t.Fatalf("bench: start a test cluster: %v", lazyErr)
	}
	return lazyPool
}

func stopLazy() {
	if lazyPool != nil {
		lazyPool.Close()
	}
	if lazyCluster != nil {
		if err := lazyCluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
}

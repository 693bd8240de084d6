// Package testdb gives every test package one real PostgreSQL: a localpg
// cluster started in TestMain (or the server named by STREAMCAT_TEST_DSN),
// pools whose connections must all be back when a test ends, and a goroutine
// leak check after the package's tests.
package testdb

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/streamcat/streamcat/localpg"
)

var cluster *localpg.Cluster

// ExampleDSNEnv is the environment variable Main sets to the test server's
// DSN for the packages' Examples to read.
const ExampleDSNEnv = "STREAMCAT_EXAMPLE_DSN"

// Main starts the cluster, runs the package's tests, stops the cluster and
// fails the run if any goroutine is left behind. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	pg, err := localpg.ForTests(ctx, localpg.Options{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 2
	}
	cluster = pg
	// Examples connect with os.Getenv(ExampleDSNEnv), as a user's program
	// would with its own DSN, so godoc shows no call into this package.
	if err := os.Setenv(ExampleDSNEnv, pg.DSN()); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 2
	}
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "testdb: goroutines left after the tests:", err)
			code = 1
		}
	}
	return code
}

// DSN returns the test server's connection string.
func DSN() string { return cluster.DSN() }

// Pool returns a new pool on the test server. When the test ends it asserts
// that no connection is still acquired, then closes the pool.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(DSN())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return PoolWithConfig(t, cfg)
}

// PoolWithConfig is Pool with a caller-made configuration.
func PoolWithConfig(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		if AssertNoAcquired(t, pool) {
			pool.Close() // it would wait forever for a connection that is not coming back
		}
	})
	return pool
}

// AssertNoAcquired fails the test when pool has connections checked out,
// and reports whether all are back. Releases can trail a result's end by a
// moment (a producer goroutine returning its connection), so it waits up to
// 2 s before failing.
func AssertNoAcquired(t testing.TB, pool *pgxpool.Pool) bool {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for pool.Stat().AcquiredConns() != 0 {
		if time.Now().After(deadline) {
			t.Errorf("pool still has %d acquired connection(s): a connection was not returned", pool.Stat().AcquiredConns())
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// MoreServers starts n more clusters beside the test server, standing in
// for shards or other servers, and returns their DSNs; they are stopped
// when the test ends. Each costs a cluster start (a second or two).
func MoreServers(t testing.TB, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var dsns []string
	for range n {
		pg, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		t.Cleanup(func() {
			if err := pg.Stop(); err != nil {
				t.Errorf("testdb: %v", err)
			}
		})
		dsns = append(dsns, pg.DSN())
	}
	return dsns
}

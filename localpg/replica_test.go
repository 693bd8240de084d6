package localpg_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/localpg"
)

func TestStartReplica_StreamsHotStandby(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := localpg.Start(ctx, localpg.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, primary.Stop()) })

	// the primary's pg_hba.conf, from initdb --auth=trust, lets replication in
	hba, err := os.ReadFile(filepath.Join(primary.Dir(), "data", "pg_hba.conf"))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust`, string(hba))

	// under a t.TempDir (0700 parents): as root the server user must reach it
	replica, err := primary.StartReplica(ctx, localpg.Options{
		Dir:      t.TempDir(),
		Settings: map[string]string{"application_name": "replica-test"},
	})
	require.NoError(t, err)
	dir := replica.Dir()
	t.Cleanup(func() { assert.NoError(t, replica.Stop()) })
	assert.NotEqual(t, primary.Port(), replica.Port())
	assert.Same(t, primary, replica.Primary())
	assert.Nil(t, primary.Primary(), "a primary has no primary")

	pc, err := pgx.Connect(ctx, primary.DSN())
	require.NoError(t, err)
	defer pc.Close(ctx)
	rc, err := pgx.Connect(ctx, replica.DSN())
	require.NoError(t, err)
	defer rc.Close(ctx)

	var inRecovery bool
	require.NoError(t, pc.QueryRow(ctx, "select pg_is_in_recovery()").Scan(&inRecovery))
	assert.False(t, inRecovery)
	require.NoError(t, rc.QueryRow(ctx, "select pg_is_in_recovery()").Scan(&inRecovery))
	assert.True(t, inRecovery, "the replica is a hot standby")
	var app, hotStandby string
	require.NoError(t, rc.QueryRow(ctx, "select current_setting('application_name'), current_setting('hot_standby')").Scan(&app, &hotStandby))
	assert.Equal(t, "replica-test", app, "Options.Settings reach the replica")
	assert.Equal(t, "on", hotStandby)

	// the replica's socket works too
	sc, err := pgx.Connect(ctx, replica.SocketDSN())
	require.NoError(t, err)
	require.NoError(t, sc.Close(ctx))

	// write on the primary, wait, read on the replica: more than once, since
	// WaitReplayed must see each new write
	_, err = pc.Exec(ctx, "create table replicated (id int primary key, v text); create sequence replicated_seq")
	require.NoError(t, err)
	for round := 1; round <= 3; round++ {
		_, err = pc.Exec(ctx, "insert into replicated select g, 'v' || g from generate_series($1::int * 100, $1::int * 100 + 99) g", round)
		require.NoError(t, err)
		require.NoError(t, replica.WaitReplayed(ctx))
		var n int
		require.NoError(t, rc.QueryRow(ctx, "select count(*) from replicated").Scan(&n))
		assert.Equal(t, round*100, n, "every committed row is on the replica after WaitReplayed")
	}
	var v string
	require.NoError(t, rc.QueryRow(ctx, "select v from replicated where id = 250").Scan(&v))
	assert.Equal(t, "v250", v)

	// WaitReplayed with nothing new returns at once
	start := time.Now()
	require.NoError(t, replica.WaitReplayed(ctx))
	assert.Less(t, time.Since(start), 5*time.Second)

	// writes on the replica fail: read-only transaction
	for _, sql := range []string{
		"insert into replicated values (1000, 'x')",
		"create table on_replica (x int)",
		"select nextval('replicated_seq')",
		"select * from replicated for update",
	} {
		_, err = rc.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%s: %v", sql, err)
		assert.Equal(t, "25006", pgErr.Code, "%s: %v", sql, err)
	}

	// WaitReplayed on a primary is an error, not a hang
	require.Error(t, primary.WaitReplayed(ctx))

	// Stop removes the replica and leaves the primary running
	require.NoError(t, rc.Close(ctx))
	require.NoError(t, replica.Stop())
	assert.NoDirExists(t, dir)
	require.NoError(t, replica.Stop(), "Stop is idempotent")
	require.NoError(t, pc.Ping(ctx))
}

func TestStartReplica_TwoReplicasOfOnePrimary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := localpg.Start(ctx, localpg.Options{Settings: map[string]string{"max_connections": "250"}})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, primary.Stop()) })
	a, err := primary.StartReplica(ctx, localpg.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, a.Stop()) })
	b, err := primary.StartReplica(ctx, localpg.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Stop()) })

	pc, err := pgx.Connect(ctx, primary.DSN())
	require.NoError(t, err)
	defer pc.Close(ctx)
	_, err = pc.Exec(ctx, "create table t as select 42 as x")
	require.NoError(t, err)
	for _, r := range []*localpg.Cluster{a, b} {
		require.NoError(t, r.WaitReplayed(ctx))
		rc, err := pgx.Connect(ctx, r.DSN())
		require.NoError(t, err)
		var x int
		var maxConns string
		require.NoError(t, rc.QueryRow(ctx, "select x, current_setting('max_connections') from t").Scan(&x, &maxConns))
		assert.Equal(t, 42, x)
		assert.Equal(t, "250", maxConns, "a hot standby needs the primary's max_connections at least: copied")
		require.NoError(t, rc.Close(ctx))
	}
}

func TestStartReplica_ReplicaOutlivesStoppedPrimary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := localpg.Start(ctx, localpg.Options{})
	require.NoError(t, err)
	replica, err := primary.StartReplica(ctx, localpg.Options{})
	if err != nil {
		primary.Stop()
		t.Fatal(err)
	}
	require.NoError(t, primary.Stop())
	rc, err := pgx.Connect(ctx, replica.DSN())
	require.NoError(t, err)
	var inRecovery bool
	require.NoError(t, rc.QueryRow(ctx, "select pg_is_in_recovery()").Scan(&inRecovery))
	assert.True(t, inRecovery, "still a standby, serving reads")
	require.NoError(t, rc.Close(ctx))
	dir := replica.Dir()
	require.NoError(t, replica.Stop())
	assert.NoDirExists(t, dir)
}

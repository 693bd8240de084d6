package localpg_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamcat/streamcat/localpg"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStart_ConnectQueryStop(t *testing.T) {
	ctx := context.Background()
	pg, err := localpg.Start(ctx, localpg.Options{Settings: map[string]string{"application_name": "localpg-test"}})
	require.NoError(t, err)
	dir := pg.Dir()
	require.DirExists(t, dir)

	for _, dsn := range []string{pg.DSN(), pg.SocketDSN()} {
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err, dsn)
		var fsync, app string
		require.NoError(t, conn.QueryRow(ctx, "select current_setting('fsync'), current_setting('application_name')").Scan(&fsync, &app))
		assert.Equal(t, "off", fsync)
		assert.Equal(t, "localpg-test", app, "Options.Settings reach the server")
		require.NoError(t, conn.Close(ctx))
	}

	require.NoError(t, pg.Stop())
	assert.NoDirExists(t, dir, "Stop removes the cluster directory")
	require.NoError(t, pg.Stop(), "Stop is idempotent")

	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = pgx.Connect(short, pg.DSN())
	assert.Error(t, err, "the server is gone after Stop")
}

func TestStart_TwoClustersAtOnce(t *testing.T) {
	ctx := context.Background()
	a, err := localpg.Start(ctx, localpg.Options{})
	require.NoError(t, err)
	defer a.Stop()
	b, err := localpg.Start(ctx, localpg.Options{})
	require.NoError(t, err)
	defer b.Stop()
	require.NotEqual(t, a.Port(), b.Port())

	ca, err := pgx.Connect(ctx, a.DSN())
	require.NoError(t, err)
	defer ca.Close(ctx)
	cb, err := pgx.Connect(ctx, b.DSN())
	require.NoError(t, err)
	defer cb.Close(ctx)

	_, err = ca.Exec(ctx, "create table only_in_a(x int)")
	require.NoError(t, err)
	var n int
	require.NoError(t, cb.QueryRow(ctx, "select count(*) from pg_tables where tablename = 'only_in_a'").Scan(&n))
	assert.Equal(t, 0, n, "the clusters are independent")
}

func TestStart_UnderTempDirWithPrivateParents(t *testing.T) {
	// t.TempDir's parents are 0700: as root the server user must still reach it.
	pg, err := localpg.Start(context.Background(), localpg.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, pg.Stop())
}

func TestStart_MissingBinariesSaysWhatToInstall(t *testing.T) {
	_, err := localpg.Start(context.Background(), localpg.Options{BinDir: t.TempDir()})
	require.ErrorIs(t, err, localpg.ErrNoBinaries)
	assert.Contains(t, err.Error(), "apt-get install postgresql")
}

func TestForTests_UsesEnvironmentDSN(t *testing.T) {
	t.Setenv(localpg.EnvDSN, "postgres://someone@db.example:5432/x")
	pg, err := localpg.ForTests(context.Background(), localpg.Options{})
	require.NoError(t, err)
	assert.Equal(t, "postgres://someone@db.example:5432/x", pg.DSN())
	assert.Empty(t, pg.Dir())
	require.NoError(t, pg.Stop(), "Stop leaves an external server alone")
}

package localpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// hotStandbySettings must be at least the primary's on a hot standby, or it
// refuses to start; StartReplica copies them from the primary.
var hotStandbySettings = []string{
	"max_connections", "max_prepared_transactions", "max_locks_per_transaction",
	"max_wal_senders", "max_worker_processes",
}

// replayPoll is how often WaitReplayed asks the replica how far it has
// replayed: replay on loopback takes milliseconds, so a short poll keeps
// tests fast without a busy loop.
const replayPoll = 5 * time.Millisecond

// StartReplica starts a streaming hot-standby replica of c: a new cluster
// directory filled by `pg_basebackup -R -X stream` from c (which writes
// standby.signal and primary_conninfo), then a server started as Start does,
// on its own port and socket, with hot_standby=on. It accepts read-only
// connections and replays c's WAL as c writes it; writes on it fail with
// SQLSTATE 25006. Stop stops it and removes its directory; stopping c first
// leaves the replica running (and retrying its primary).
//
// opts is as for Start: BinDir defaults to c's binaries (they must include
// pg_basebackup), Settings add to (and may override) the defaults, the
// settings a hot standby needs at least as high as its primary's
// (max_connections and friends, copied from c) and hot_standby=on.
//
// c must accept replication connections from 127.0.0.1 as postgres: a
// cluster from Start does (initdb --auth=trust writes `host replication all
// 127.0.0.1/32 trust`, and wal_level=replica with max_wal_senders=10 are the
// defaults).
func (c *Cluster) StartReplica(ctx context.Context, opts Options) (*Cluster, error) {
	if c == nil || c.dsn == "" {
		return nil, errors.New("localpg: StartReplica needs a running primary")
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	binDir := c.binDir
	if opts.BinDir != "" || binDir == "" {
		var err error
		if binDir, err = findBinDir(opts.BinDir); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(binDir, "pg_basebackup")); err != nil {
		return nil, fmt.Errorf("localpg: pg_basebackup not found beside initdb in %s: %w", binDir, ErrNoBinaries)
	}
	cred, err := serverCredential(opts.SystemUser)
	if err != nil {
		return nil, err
	}
	settings, err := primarySettings(ctx, c.dsn)
	if err != nil {
		return nil, err
	}
	settings["hot_standby"] = "on"
	for k, v := range opts.Settings {
		settings[k] = v
	}

	dir, err := os.MkdirTemp(opts.Dir, "localpg-replica-")
	if err != nil {
		return nil, fmt.Errorf("localpg: create replica directory: %w", err)
	}
	r := &Cluster{dir: dir, sockDir: filepath.Join(dir, "sock"), binDir: binDir, cred: cred}
	if err := r.baseBackup(ctx, c.dsn); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := r.listen(ctx, opts.Port, settings); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	setPrimary(r, c)
	return r, nil
}

// baseBackup creates r's directories (as Start's prepare does) and fills
// r.dir/data with a base backup of the server at primaryDSN, configured to
// follow it.
func (r *Cluster) baseBackup(ctx context.Context, primaryDSN string) error {
	if err := r.makeDirs(); err != nil {
		return err
	}
	return r.runTool(ctx, "pg_basebackup",
		"-D", filepath.Join(r.dir, "data"), "-R", "-X", "stream",
		"--checkpoint=fast", "--no-sync", "-d", primaryDSN)
}

// primarySettings reads the settings a hot standby needs at least as high
// as its primary's.
func primarySettings(ctx context.Context, dsn string) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("localpg: connect to the primary: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, "select name, setting from pg_settings where name = any($1)", hotStandbySettings)
	if err != nil {
		return nil, fmt.Errorf("localpg: read the primary's settings: %w", err)
	}
	settings := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			rows.Close()
			return nil, fmt.Errorf("localpg: read the primary's settings: %w", err)
		}
		settings[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("localpg: read the primary's settings: %w", err)
	}
	return settings, nil
}

func setPrimary(replica, primary *Cluster) { replica.primary = primary }

// Primary returns the cluster c replicates, or nil when c is not a replica
// made by StartReplica.
func (c *Cluster) Primary() *Cluster {
	if c == nil {
		return nil
	}
	return c.primary
}

// WaitReplayed waits until replica c has replayed everything its primary
// had committed when WaitReplayed was called, so that a read on c sees
// those writes. It is for tests: it writes a restore point record on the
// primary (which needs a superuser, as the clusters of Start have) and
// commits a transaction with synchronous_commit=on, so that the primary
// sends its WAL at once even though its clusters run with
// synchronous_commit=off, then polls c's pg_last_wal_replay_lsn() until it
// reaches that record.
func (c *Cluster) WaitReplayed(ctx context.Context) error {
	primary := c.Primary()
	if primary == nil {
		return errors.New("localpg: WaitReplayed: not a replica made by StartReplica")
	}
	target, err := primaryLSN(ctx, primary.dsn)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		return fmt.Errorf("localpg: WaitReplayed: connect to the replica: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var done *bool
		if err := conn.QueryRow(ctx, "select pg_last_wal_replay_lsn() >= $1::pg_lsn", target).Scan(&done); err != nil {
			return fmt.Errorf("localpg: WaitReplayed: %w", err)
		}
		if done == nil {
			return errors.New("localpg: WaitReplayed: the replica is not in recovery (promoted?)")
		}
		if *done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localpg: WaitReplayed: the replica did not reach %s: %w", target, ctx.Err())
		case <-time.After(replayPoll):
		}
	}
}

// primaryLSN returns the end of a WAL record written now on the primary,
// after every commit before it, and has it flushed (so walsenders send it).
func primaryLSN(ctx context.Context, dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("localpg: WaitReplayed: %w", err)
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("localpg: WaitReplayed: connect to the primary: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The restore point is a record after every earlier commit; the xid
	// makes the statement's commit synchronous, flushing the WAL up to it.
	var lsn string
	var xid int64
	if err := conn.QueryRow(ctx, "select pg_create_restore_point('localpg')::text, txid_current()").Scan(&lsn, &xid); err != nil {
		return "", fmt.Errorf("localpg: WaitReplayed: on the primary: %w", err)
	}
	return lsn, nil
}

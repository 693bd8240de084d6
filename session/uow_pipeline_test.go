package session_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/faultproxy"
	"github.com/streamcat/streamcat/session"
)

// pipelinedParents is enough uParents for three full INSERT chunks, which a
// flush sends as a pipeline, and a short fourth.
func pipelinedParents(t *testing.T, s *session.Session) []*uParent {
	t.Helper()
	objs := make([]*uParent, 3_500)
	for i := range objs {
		objs[i] = &uParent{Name: fmt.Sprintf("p%05d", i)}
		require.NoError(t, s.Add(objs[i]))
	}
	return objs
}

// assertUnflushed checks that a failed flush left every object as it was.
func assertUnflushed(t *testing.T, s *session.Session, objs []*uParent) {
	t.Helper()
	assert.Len(t, s.New(), len(objs), "everything still pending")
	for _, p := range objs {
		require.Zero(t, p.ID, "keys read back before the failure were put back")
		require.Zero(t, p.Version)
		require.True(t, p.CreatedAt.IsZero())
	}
}

// The faults below cannot be produced by a healthy server on demand: a
// fault proxy between the pool and the server cuts or stalls the link
// while the pipelined chunks are in flight.
func TestUnitOfWork_PipelinedFlushSurvivesALinkCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  faultproxy.Direction
		n    int64
	}{
		// the second chunk's parameters are on their way to the server
		{"while sending", faultproxy.ToServer, 25_000},
		// the first chunk's keys are coming back (about 20 bytes a row)
		{"while reading keys back", faultproxy.ToClient, 10_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, proxy, s := proxiedUowSession(t)
			ctx := context.Background()
			objs := pipelinedParents(t, s)

			proxy.CutAfter(tc.dir, tc.n)
			require.Error(t, s.Flush(ctx))
			assertUnflushed(t, s, objs)
			assert.Zero(t, scalar[int64](t, pool, "select count(*) from uow_parents"), "the flush's own transaction rolled back")

			require.NoError(t, s.Flush(ctx), "the next flush, on a new connection, writes everything")
			assert.Empty(t, s.New())
			assert.Equal(t, int64(len(objs)), scalar[int64](t, pool, "select count(*) from uow_parents"))
			for i := 1; i < len(objs); i++ {
				require.Greater(t, objs[i].ID, objs[i-1].ID, "keys in row order")
			}
			assert.Equal(t, objs[2_222].Name, scalar[string](t, pool, "select name from uow_parents where id = $1", objs[2_222].ID))
		})
	}
}

func TestUnitOfWork_PipelinedFlushEndsWhenItsContextDoes(t *testing.T) {
	pool, proxy, s := proxiedUowSession(t)
	ctx := context.Background()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	objs := pipelinedParents(t, s)

	// the replies stop coming, as on a dead network; the caller gives up
	proxy.CutAfter(faultproxy.ToClient, 1<<40) // (disarms any earlier cut)
	flushCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	proxy.Stall(faultproxy.ToClient)
	err = s.Flush(flushCtx)
	proxy.Resume()
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline is reachable: %v", err)
	assertUnflushed(t, s, objs)

	_ = s.Rollback(ctx) // the transaction is gone with its connection, or rolled back
	assert.Empty(t, s.New(), "the rollback expunged the pending objects")
	assert.Zero(t, scalar[int64](t, pool, "select count(*) from uow_parents"))
	objs = pipelinedParents(t, s)
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, int64(len(objs)), scalar[int64](t, pool, "select count(*) from uow_parents"))
}

// A DEALLOCATE ALL sent as plain SQL removes the flush's prepared INSERT
// from the server while pgx still lists it (as it does for pgx's own cached
// statements). The flush that meets it fails and changes nothing; the next
// one prepares the statement again and succeeds.
func TestUnitOfWork_PipelinedFlushAfterDeallocateAll(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)
	_, err := s.Begin(ctx) // one connection for the whole test
	require.NoError(t, err)
	first := pipelinedParents(t, s)
	require.NoError(t, s.Flush(ctx))
	_, err = s.Execute(ctx, "deallocate all")
	require.NoError(t, err)

	objs := make([]*uParent, 2*1000) // full chunks only: pgx's own cached statements (a short last chunk) are broken by a plain DEALLOCATE ALL too, and are pgx's to mend
	for i := range objs {
		objs[i] = &uParent{Name: fmt.Sprintf("again%05d", i)}
		require.NoError(t, s.Add(objs[i]))
	}
	var pgErr *pgconn.PgError
	require.ErrorAs(t, s.Flush(ctx), &pgErr)
	assert.Equal(t, "26000", pgErr.Code)
	assertUnflushed(t, s, objs)

	require.NoError(t, s.Flush(ctx), "the savepoint rolled back; the statement is prepared again")
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, int64(len(first)+len(objs)), scalar[int64](t, pool, "select count(*) from uow_parents"))
}

package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/session"
)

// Add leaves its objects in a queue until the session looks something up
// or flushes. Whatever the queue holds, the session answers as if each
// Add had been filed at once: an object added
// again is held once, in its first place; another session sees it held;
// an object marked for deletion and added again is kept.
func TestUnitOfWork_AddAgainWhileQueued(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s, other := uowSession(t, m), uowSession(t, m)

	objs := make([]*uParent, 1000) // several chunks of records and a part-filled one
	for i := range objs {
		objs[i] = &uParent{Name: fmt.Sprintf("p%04d", i)}
		require.NoError(t, s.Add(objs[i]))
	}
	last := objs[len(objs)-1]
	require.NoError(t, s.Add(last), "again, while it waits in the queue")
	require.NoError(t, s.Add(objs[5]), "again, long filed")
	require.NoError(t, s.Add(last))
	assert.ErrorIs(t, other.Add(last), session.ErrOtherSession, "another session sees an object still in the queue")
	assert.ErrorIs(t, other.Add(objs[5]), session.ErrOtherSession)
	assert.Same(t, s, session.ObjectSession(last))
	assert.Nil(t, session.ObjectSession(&uParent{}))

	fresh := &uParent{Name: "fresh"}
	require.NoError(t, s.Add(fresh))
	assert.True(t, s.Contains(fresh), "Contains files the queue first")
	require.NoError(t, s.Add(fresh))

	got := s.New()
	require.Len(t, got, len(objs)+1, "each object once")
	for i, o := range objs {
		require.Same(t, o, got[i], "in the order of their first Add")
	}
	n := 0
	for range s.Objects() {
		n++
	}
	assert.Equal(t, len(objs)+1, n)

	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, int64(len(objs)+1), scalar[int64](t, pool, "select count(*) from uow_parents"))
	assert.Empty(t, s.New())

	// persistent now: marked for deletion, then added again
	require.NoError(t, s.Delete(objs[7]))
	require.NoError(t, s.Add(objs[7]))
	assert.Empty(t, s.Deleted(), "kept after all")
	for i := range 300 { // a persistent object added again among new ones
		require.NoError(t, s.Add(&uParent{Name: fmt.Sprintf("q%04d", i)}))
		if i == 100 {
			require.NoError(t, s.Delete(objs[8]))
			require.NoError(t, s.Add(objs[8]))
		}
	}
	assert.Empty(t, s.Deleted())
	assert.Len(t, s.New(), 300)
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, int64(len(objs)+301), scalar[int64](t, pool, "select count(*) from uow_parents"))

	require.NoError(t, s.Expunge(last))
	require.NoError(t, other.Add(last), "expunged, it may join another session")
	assert.Same(t, other, session.ObjectSession(last))
}

// The pending objects are the records Add handed out that are still
// pending, in Add order, however many flushes (full or of a few objects),
// expunges and adds came between.
func TestUnitOfWork_PendingOrderAcrossFlushes(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)

	objs := make([]*uParent, 600) // three chunks of records
	for i := range objs {
		objs[i] = &uParent{Name: fmt.Sprintf("p%04d", i)}
		require.NoError(t, s.Add(objs[i]))
	}
	require.NoError(t, s.Flush(ctx, objs[10], objs[599]))
	require.NoError(t, s.Expunge(objs[300]))
	rest := make([]any, 0, len(objs))
	for i, o := range objs {
		if i != 10 && i != 599 && i != 300 {
			rest = append(rest, o)
		}
	}
	assert.Equal(t, rest, s.New(), "the rest, in Add order")

	require.NoError(t, s.Flush(ctx))
	assert.Empty(t, s.New())
	more := []*uParent{{Name: "m1"}, {Name: "m2"}}
	require.NoError(t, s.Add(more[1]))
	require.NoError(t, s.Add(objs[300]), "expunged earlier, added again")
	require.NoError(t, s.Add(more[0]))
	assert.Equal(t, []any{more[1], objs[300], more[0]}, s.New())
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, int64(len(objs)+2), scalar[int64](t, pool, "select count(*) from uow_parents"))
	assert.Less(t, more[1].ID, objs[300].ID, "inserted in Add order")
	assert.Less(t, objs[300].ID, more[0].ID)
}

// Two sessions add many objects at once from two goroutines, some of them
// the same: each contested object ends in exactly one session, while the
// other session's queue is being filed (run with -race).
func TestUnitOfWork_TwoSessionsAddingManyAtOnce(t *testing.T) {
	m, _, _ := uowFixture(t)
	a, b := uowSession(t, m), uowSession(t, m)
	shared := make([]*uParent, 700)
	for i := range shared {
		shared[i] = &uParent{Name: fmt.Sprintf("shared%d", i)}
	}
	won := map[*session.Session][]any{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range []*session.Session{a, b} {
		wg.Go(func() {
			var mine []any
			for i, o := range shared {
				own := &uParent{Name: fmt.Sprintf("own%d", i)}
				require.NoError(t, s.Add(own))
				mine = append(mine, own)
				switch err := s.Add(o); {
				case err == nil:
					mine = append(mine, o)
				case !errors.Is(err, session.ErrOtherSession):
					t.Errorf("Add: %v", err)
				}
			}
			mu.Lock()
			won[s] = mine
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, o := range shared {
		owner := session.ObjectSession(o)
		require.NotNil(t, owner, "every contested object went to one session")
		assert.True(t, owner.Contains(o))
	}
	assert.Equal(t, won[a], a.New(), "a holds what it won, in Add order")
	assert.Equal(t, won[b], b.New())
	assert.Equal(t, 2*len(shared)+len(shared), len(a.New())+len(b.New()))
}

// Add leaves a new object unfiled (a filter tells it that the object is
// new), and a COPY flush files the objects while it sends their rows.
// Objects added again while they wait, and a COPY the server refuses at its
// last row, change nothing of what the session answers: each object is
// held once, another session sees it held, and the next flush writes each
// row once.
func TestUnitOfWork_QueuedObjectsThroughAFailedAndARepeatedCopy(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	s, other := uowSession(t, m), uowSession(t, m)
	const n = 3000
	nodes := addNodes(t, s, n, func(nodes []*uNode, i int) {
		if i%500 == 499 { // added again while queued, with thousands of others
			require.NoError(t, s.Add(nodes[i/2]))
			require.NoError(t, s.Add(nodes[i]))
		}
	})
	assert.ErrorIs(t, other.Add(nodes[1500]), session.ErrOtherSession, "another session sees a queued object")
	assert.Same(t, s, session.ObjectSession(nodes[0]))

	_, err := pool.Exec(ctx, "insert into uow_nodes (id, label) values ($1, 'taken')", n)
	require.NoError(t, err)
	log.reset()
	err = s.Flush(ctx)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, "the last row's key is taken")
	assert.Equal(t, "23505", pgErr.Code)
	assert.Equal(t, []string{`COPY "uow_nodes"`}, log.matching("copy"))
	assert.Equal(t, int64(1), scalar[int64](t, pool, "select count(*) from uow_nodes"), "nothing written")

	require.Len(t, s.New(), n, "each object pending once, after the COPY filed them")
	assert.ErrorIs(t, other.Add(nodes[10]), session.ErrOtherSession)
	for _, x := range []*uNode{nodes[0], nodes[n/2], nodes[n-1]} {
		assert.True(t, s.Contains(x))
		require.NoError(t, s.Add(x), "again, filed now")
	}
	require.Len(t, s.New(), n)

	_, err = pool.Exec(ctx, "delete from uow_nodes")
	require.NoError(t, err)
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, int64(n), scalar[int64](t, pool, "select count(*) from uow_nodes"))
	assert.Empty(t, s.New())
	got, err := session.GetOne[uNode](ctx, s, int64(1234))
	require.NoError(t, err)
	assert.Same(t, nodes[1233], got)
	count := 0
	for range s.Objects() {
		count++
	}
	assert.Equal(t, n, count)
	require.NoError(t, s.Expunge(nodes[1500]))
	require.NoError(t, other.Add(nodes[1500]), "expunged, it may join another session")
}

// Other goroutines look at a session's objects (ObjectSession, another
// session's Add) while its COPY flush files them on pgconn's sending
// goroutine: they always find them held, and -race finds no unguarded
// access between the two.
func TestUnitOfWork_LookupsFromOtherGoroutinesDuringACopy(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s, other := uowSession(t, m), uowSession(t, m)
	const n = 20_000
	nodes := addNodes(t, s, n, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lookups, wrong atomic.Int64
	wg.Go(func() {
		for i := 0; ; i = (i + 7919) % n {
			select {
			case <-stop:
				return
			default:
			}
			if session.ObjectSession(nodes[i]) != s || !errors.Is(other.Add(nodes[(i+1)%n]), session.ErrOtherSession) {
				wrong.Add(1)
			}
			lookups.Add(1)
		}
	})
	err := s.Flush(ctx)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	assert.Zero(t, wrong.Load(), "every lookup found the objects held by s")
	assert.Positive(t, lookups.Load())
	assert.Equal(t, int64(n), scalar[int64](t, pool, "select count(*) from uow_nodes"))
	assert.Empty(t, other.New(), "the other session took none of them")
}

// addNodes adds n new nodes with keys 1..n to s, calling after(nodes, i)
// (if not nil) after the Add of nodes[i].
func addNodes(t *testing.T, s *session.Session, n int, after func(nodes []*uNode, i int)) []*uNode {
	t.Helper()
	nodes := make([]*uNode, n)
	for i := range nodes {
		nodes[i] = &uNode{ID: int64(i + 1), Label: "n"}
		require.NoError(t, s.Add(nodes[i]))
		if after != nil {
			after(nodes, i)
		}
	}
	return nodes
}

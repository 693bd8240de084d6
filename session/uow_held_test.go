package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/session"
)

// Add files its objects in batches (the last ones wait until a batch is
// full or the session looks something up). Whatever the batch holds, the
// session answers as if each Add had been filed at once: an object added
// again is held once, in its first place; another session sees it held;
// an object marked for deletion and added again is kept.
func TestUnitOfWork_AddAgainAcrossBatches(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s, other := uowSession(t, m), uowSession(t, m)

	objs := make([]*uParent, 1000) // several batches and a part-filled one
	for i := range objs {
		objs[i] = &uParent{Name: fmt.Sprintf("p%04d", i)}
		require.NoError(t, s.Add(objs[i]))
	}
	last := objs[len(objs)-1]
	require.NoError(t, s.Add(last), "again, while it waits in the batch")
	require.NoError(t, s.Add(objs[5]), "again, long filed")
	require.NoError(t, s.Add(last))
	assert.ErrorIs(t, other.Add(last), session.ErrOtherSession, "another session sees an object still in the batch")
	assert.ErrorIs(t, other.Add(objs[5]), session.ErrOtherSession)
	assert.Same(t, s, session.ObjectSession(last))
	assert.Nil(t, session.ObjectSession(&uParent{}))

	fresh := &uParent{Name: "fresh"}
	require.NoError(t, s.Add(fresh))
	assert.True(t, s.Contains(fresh), "Contains settles the batch first")
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
	for i := range 300 { // a persistent object added again within a batch of new ones
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
// other session's batches are being filed (run with -race).
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

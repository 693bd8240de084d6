package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
)

func TestScoped_SessionNeedsAScope(t *testing.T) {
	r := session.NewScoped(session.NewMaker(testdb.Pool(t)))
	_, err := r.Session(context.Background())
	require.ErrorIs(t, err, session.ErrNoScope)
	assert.Contains(t, err.Error(), "WithScope")
	assert.ErrorIs(t, r.Remove(context.Background()), session.ErrNoScope)

	// a scope of another registry is not one of r's
	other := session.NewScoped(session.NewMaker(testdb.Pool(t)))
	_, err = r.Session(other.WithScope(context.Background()))
	assert.ErrorIs(t, err, session.ErrNoScope)
	assert.Equal(t, 0, r.Len())
	assert.Equal(t, 0, other.Len())
}

func TestScoped_OneSessionPerScope(t *testing.T) {
	r := session.NewScoped(session.NewMaker(testdb.Pool(t)))
	ctx := r.WithScope(context.Background())
	t.Cleanup(func() { require.NoError(t, r.Remove(ctx)) })

	s1, err := r.Session(ctx)
	require.NoError(t, err)
	s2, err := r.Session(context.WithValue(ctx, struct{}{}, "derived"))
	require.NoError(t, err)
	assert.Same(t, s1, s2, "a derived context is the same scope")

	nested := r.WithScope(ctx)
	t.Cleanup(func() { require.NoError(t, r.Remove(nested)) })
	s3, err := r.Session(nested)
	require.NoError(t, err)
	assert.NotSame(t, s1, s3, "WithScope on a scoped context starts a new scope")

	other := r.WithScope(context.Background())
	t.Cleanup(func() { require.NoError(t, r.Remove(other)) })
	s4, err := r.Session(other)
	require.NoError(t, err)
	assert.NotSame(t, s1, s4)
	assert.NotSame(t, s3, s4)
	assert.Equal(t, 3, r.Len())
	assert.Same(t, r.Maker(), r.Maker())
}

func TestScoped_OptionsOnlyOnFirstUse(t *testing.T) {
	r := session.NewScoped(session.NewMaker(testdb.Pool(t)))
	ctx := r.WithScope(context.Background())
	t.Cleanup(func() { require.NoError(t, r.Remove(ctx)) })

	s, err := r.Session(ctx, session.WithInfo(map[string]any{"tenant": "a"}))
	require.NoError(t, err)
	assert.Equal(t, "a", s.Info()["tenant"])

	_, err = r.Session(ctx, session.WithInfo(map[string]any{"tenant": "b"}))
	require.ErrorIs(t, err, session.ErrScopedSessionPresent)
	assert.Contains(t, err.Error(), "scoped session is already present; no new options may be given")

	again, err := r.Session(ctx)
	require.NoError(t, err)
	assert.Same(t, s, again)
	assert.Equal(t, "a", again.Info()["tenant"], "the refused options changed nothing")
}

func TestScoped_RemoveClosesAndForgets(t *testing.T) {
	pool := testdb.Pool(t)
	r := session.NewScoped(session.NewMaker(pool))
	ctx := r.WithScope(context.Background())

	require.NoError(t, r.Remove(ctx), "a scope without a session: nothing to do")

	s, err := r.Session(ctx)
	require.NoError(t, err)
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "create temp table scoped_remove (id int)")
	require.NoError(t, err)
	assert.Equal(t, int32(1), pool.Stat().AcquiredConns(), "the transaction holds a connection")
	assert.Equal(t, 1, r.Len())

	require.NoError(t, r.Remove(ctx))
	assert.Equal(t, 0, r.Len())
	assert.False(t, s.InTransaction(), "Remove rolled the transaction back")
	assert.Equal(t, int32(0), pool.Stat().AcquiredConns(), "and gave the connection back")

	// the scope lives on: a new session, which does not see the rolled-back table
	s2, err := r.Session(ctx)
	require.NoError(t, err)
	assert.NotSame(t, s, s2)
	exists, err := s2.Scalar(ctx, "select to_regclass('pg_temp.scoped_remove') is not null")
	require.NoError(t, err)
	assert.Equal(t, false, exists)
	require.NoError(t, r.Remove(ctx))
	assert.Equal(t, 0, r.Len())
}

func TestScoped_RemoveWithCancelledContextStillReleases(t *testing.T) {
	pool := testdb.Pool(t)
	r := session.NewScoped(session.NewMaker(pool))
	ctx, cancel := context.WithCancel(r.WithScope(context.Background()))
	s, err := r.Session(ctx)
	require.NoError(t, err)
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	cancel()

	err = r.Remove(ctx)
	assert.ErrorIs(t, err, context.Canceled, "the rollback could not run")
	assert.Equal(t, 0, r.Len(), "the scope is forgotten all the same")
	assert.False(t, s.InTransaction())
	assert.True(t, testdb.AssertNoAcquired(t, pool), "the connection is closed (asynchronously), not leaked")
}

// Without Remove, scopes pile up (the reference's #8340): Len shows it.
func TestScoped_WithoutRemoveSessionsPileUp(t *testing.T) {
	r := session.NewScoped(session.NewMaker(testdb.Pool(t)))
	var scopes []context.Context
	for range 10 {
		ctx := r.WithScope(context.Background())
		_, err := r.Session(ctx)
		require.NoError(t, err)
		scopes = append(scopes, ctx)
	}
	assert.Equal(t, 10, r.Len(), "nothing removes a scope but Remove")
	for _, ctx := range scopes {
		require.NoError(t, r.Remove(ctx))
	}
	assert.Equal(t, 0, r.Len())
}

func TestScoped_ConfigureWarnsWhenSessionsExist(t *testing.T) {
	r := session.NewScoped(session.NewMaker(testdb.Pool(t)))
	require.NoError(t, r.Configure(session.WithInfo(map[string]any{"v": 1})), "no session yet: no warning")

	old := r.WithScope(context.Background())
	t.Cleanup(func() { require.NoError(t, r.Remove(old)) })
	s1, err := r.Session(old)
	require.NoError(t, err)
	assert.Equal(t, 1, s1.Info()["v"])

	err = r.Configure(session.WithInfo(map[string]any{"v": 2}))
	var warn *session.ConfigureWarning
	require.True(t, errors.As(err, &warn), "got %v", err)
	assert.Equal(t, 1, warn.Live)
	assert.Contains(t, err.Error(), "already present")

	fresh := r.WithScope(context.Background())
	t.Cleanup(func() { require.NoError(t, r.Remove(fresh)) })
	s2, err := r.Session(fresh)
	require.NoError(t, err)
	assert.Equal(t, 2, s2.Info()["v"], "the options were applied despite the warning")
	assert.Equal(t, 1, s1.Info()["v"], "the live session keeps its options")
}

func TestScoped_ConcurrentScopes(t *testing.T) {
	pool := testdb.Pool(t)
	r := session.NewScoped(session.NewMaker(pool))
	const n = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[*session.Session]bool{}
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ctx := r.WithScope(context.Background())
			defer func() {
				if err := r.Remove(ctx); err != nil {
					errs <- err
				}
			}()
			// goroutines sharing one scope all get its one session
			shared := make([]*session.Session, 4)
			var inner sync.WaitGroup
			for i := range shared {
				inner.Go(func() {
					s, err := r.Session(ctx)
					if err != nil {
						errs <- err
					}
					shared[i] = s
				})
			}
			inner.Wait()
			for _, s := range shared[1:] {
				if s != shared[0] {
					errs <- errors.New("one scope gave two sessions")
				}
			}
			if _, err := shared[0].Scalar(ctx, "select 1"); err != nil {
				errs <- err
			}
			mu.Lock()
			if seen[shared[0]] {
				errs <- errors.New("two scopes shared a session")
			}
			seen[shared[0]] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Len(t, seen, n)
	assert.Equal(t, 0, r.Len())
}

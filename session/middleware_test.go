package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
)

// middlewareTable creates a table for one test and drops it afterwards.
func middlewareTable(t *testing.T, pool *pgxpool.Pool, name string) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, "create table "+name+" (req text not null, pid int4 not null)")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "drop table if exists "+name)
		require.NoError(t, err)
	})
}

// startServer serves h until the test ends; net/http's panic logs go nowhere.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close) // also closes the idle connections of srv.Client()
	return srv
}

type middlewareReply struct {
	PID int32  `json:"pid"`
	Err string `json:"err"`
}

// Fifty requests at once, each in a transaction held open until all fifty
// have inserted their row: each sees its own session, connection and
// uncommitted row, and nothing of the others'.
func TestMiddleware_ConcurrentRequestsGetTheirOwnSessions(t *testing.T) {
	const n = 50
	cfg, err := pgxpool.ParseConfig(testdb.DSN())
	require.NoError(t, err)
	cfg.MaxConns = n + 5
	pool := testdb.PoolWithConfig(t, cfg)
	middlewareTable(t, pool, "mw_concurrent")
	scoped := session.NewScoped(session.NewMaker(pool))

	// two barriers: every request has inserted before any reads, and every
	// request has read before any commits
	var arrived, checked sync.WaitGroup
	arrived.Add(n)
	checked.Add(n)
	allIn, allChecked := make(chan struct{}), make(chan struct{})
	go func() { arrived.Wait(); close(allIn) }()
	go func() { checked.Wait(); close(allChecked) }()
	wait := func(all <-chan struct{}) error {
		select {
		case <-all:
			return nil
		case <-time.After(30 * time.Second):
			return errors.New("not every request got to hold a transaction at once")
		}
	}
	var sessions sync.Map // *session.Session -> request id

	handle := func(req *http.Request) (int32, error) {
		arrive, check := sync.OnceFunc(arrived.Done), sync.OnceFunc(checked.Done)
		defer arrive()
		defer check()
		ctx := req.Context()
		id := req.URL.Query().Get("id")
		s, err := scoped.Session(ctx)
		if err != nil {
			return 0, err
		}
		if prev, dup := sessions.LoadOrStore(s, id); dup {
			return 0, fmt.Errorf("request %s got the session of request %v", id, prev)
		}
		s.Info()["req"] = id
		if _, err := s.Begin(ctx); err != nil {
			return 0, err
		}
		pid, err := s.Scalar(ctx, "select pg_backend_pid()")
		if err != nil {
			return 0, err
		}
		if _, err := s.Execute(ctx, "insert into mw_concurrent (req, pid) values ($1, $2)", id, pid); err != nil {
			return 0, err
		}

		arrive()
		if err := wait(allIn); err != nil {
			return 0, err
		}

		again, err := scoped.Session(ctx)
		if err != nil {
			return 0, err
		}
		if again != s || again.Info()["req"] != id {
			return 0, fmt.Errorf("request %s: Session gave another session later (marker %v)", id, again.Info()["req"])
		}
		pid2, err := s.Scalar(ctx, "select pg_backend_pid()")
		if err != nil {
			return 0, err
		}
		if pid2 != pid {
			return 0, fmt.Errorf("request %s: the transaction moved from backend %v to %v", id, pid, pid2)
		}
		res, err := s.Execute(ctx, "select req from mw_concurrent")
		if err != nil {
			return 0, err
		}
		if rows := res.All(); len(rows) != 1 || rows[0].At(0) != id {
			return 0, fmt.Errorf("request %s sees %d uncommitted rows, want only its own", id, len(rows))
		}
		check()
		if err := wait(allChecked); err != nil {
			return 0, err
		}
		if err := s.Commit(ctx); err != nil {
			return 0, err
		}
		return pid.(int32), nil
	}
	srv := startServer(t, scoped.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		pid, err := handle(req)
		reply := middlewareReply{PID: pid}
		if err != nil {
			reply.Err = err.Error()
		}
		_ = json.NewEncoder(w).Encode(reply)
	})))

	client := srv.Client()
	replies := make([]middlewareReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := client.Get(srv.URL + "/?id=" + strconv.Itoa(i))
			if err != nil {
				replies[i].Err = err.Error()
				return
			}
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(&replies[i]); err != nil {
				replies[i].Err = err.Error()
			}
		})
	}
	wg.Wait()

	pids := map[int32]int{}
	for i, r := range replies {
		require.Empty(t, r.Err, "request %d", i)
		if other, dup := pids[r.PID]; dup {
			t.Errorf("requests %d and %d ran on the same backend %d at once", other, i, r.PID)
		}
		pids[r.PID] = i
	}

	ctx := context.Background()
	rows, err := pool.Query(ctx, "select req, pid from mw_concurrent")
	require.NoError(t, err)
	committed := map[string]int32{}
	for rows.Next() {
		var req string
		var pid int32
		require.NoError(t, rows.Scan(&req, &pid))
		committed[req] = pid
	}
	require.NoError(t, rows.Err())
	require.Len(t, committed, n, "every request committed its row")
	for i, r := range replies {
		assert.Equal(t, r.PID, committed[strconv.Itoa(i)], "request %d's row was written by its own backend", i)
	}

	require.Eventually(t, func() bool { return scoped.Len() == 0 }, 2*time.Second, 5*time.Millisecond,
		"the middleware removed every scope (%d left)", scoped.Len())
	assert.True(t, testdb.AssertNoAcquired(t, pool))
}

func TestMiddleware_PanicRemovesTheScopeAndRollsBack(t *testing.T) {
	pool := testdb.Pool(t)
	middlewareTable(t, pool, "mw_panic")
	scoped := session.NewScoped(session.NewMaker(pool))
	var seen *session.Session
	srv := startServer(t, scoped.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := req.Context()
		s, err := scoped.Session(ctx)
		if err != nil {
			panic(err)
		}
		seen = s
		if _, err := s.Begin(ctx); err != nil {
			panic(err)
		}
		if _, err := s.Execute(ctx, "insert into mw_panic values ('doomed', pg_backend_pid())"); err != nil {
			panic(err)
		}
		panic("handler failed mid-transaction")
	})))

	resp, err := srv.Client().Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "net/http drops the connection of a panicking handler: the panic went on")

	require.Eventually(t, func() bool { return scoped.Len() == 0 && pool.Stat().AcquiredConns() == 0 },
		2*time.Second, 5*time.Millisecond, "the scope is removed and its connection returned")
	require.NotNil(t, seen)
	assert.False(t, seen.InTransaction())
	var count int
	require.NoError(t, pool.QueryRow(context.Background(), "select count(*) from mw_panic").Scan(&count))
	assert.Zero(t, count, "the transaction was rolled back")
}

// A client that goes away cancels the request's context; the rollback
// still runs, on a detached context, and the connection goes back healthy.
func TestMiddleware_ClientGoneStillRollsBack(t *testing.T) {
	pool := testdb.Pool(t)
	middlewareTable(t, pool, "mw_gone")
	scoped := session.NewScoped(session.NewMaker(pool))
	inserted := make(chan struct{})
	handlerDone := make(chan struct{})
	srv := startServer(t, scoped.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		defer close(handlerDone)
		ctx := req.Context()
		s, err := scoped.Session(ctx)
		if err != nil {
			return
		}
		if _, err := s.Begin(ctx); err != nil {
			return
		}
		if _, err := s.Execute(ctx, "insert into mw_gone values ('abandoned', 0)"); err != nil {
			return
		}
		close(inserted)
		<-ctx.Done() // the client hangs up
	})))

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	go func() { <-inserted; cancel() }()
	resp, err := srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, context.Canceled)

	select {
	case <-handlerDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never saw the client go")
	}
	require.Eventually(t, func() bool { return scoped.Len() == 0 && pool.Stat().AcquiredConns() == 0 },
		2*time.Second, 5*time.Millisecond)
	assert.Equal(t, int32(1), pool.Stat().IdleConns(), "the connection was rolled back and pooled, not closed")
	var count int
	require.NoError(t, pool.QueryRow(context.Background(), "select count(*) from mw_gone").Scan(&count))
	assert.Zero(t, count)
}

func TestMiddleware_UnusedScopeCostsNoConnection(t *testing.T) {
	pool := testdb.Pool(t)
	scoped := session.NewScoped(session.NewMaker(pool))
	srv := startServer(t, scoped.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "static")
	})))
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "static", string(body))
	assert.Equal(t, 0, scoped.Len())
	assert.Equal(t, int32(0), pool.Stat().TotalConns(), "no session was made, no connection opened")
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// A handler that leaves a stream open inside its transaction: the removal
// closes the stream, rolls the transaction back and returns the connection.
func TestMiddleware_RemoveClosesAStreamLeftOpen(t *testing.T) {
	pool := testdb.Pool(t)
	maker := session.NewMaker(pool)
	scoped := session.NewScoped(maker)
	var logs syncBuffer
	srv := httptest.NewUnstartedServer(scoped.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := req.Context()
		s, err := scoped.Session(ctx)
		if err != nil {
			return
		}
		if _, err := s.Begin(ctx); err != nil {
			return
		}
		st, err := s.Stream(ctx, "select generate_series(1, 1000000)")
		if err != nil {
			return
		}
		_, _ = st.FetchOne() // one row, and no st.Close()
		io.WriteString(w, "leaky")
	})))
	srv.Config.ErrorLog = log.New(&logs, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL + "/leaky")
	require.NoError(t, err)
	resp.Body.Close()

	require.Eventually(t, func() bool { return scoped.Len() == 0 }, 2*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return pool.Stat().AcquiredConns() == 0 }, 5*time.Second, 10*time.Millisecond,
		"the removal closed the stream and gave the connection back")
	require.NoError(t, maker.CloseAll(context.Background()), "nothing is left for CloseAll")
	assert.Empty(t, logs.String(), "the removal succeeded: nothing to log")
}

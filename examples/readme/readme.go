// Package readme holds the README's library example as code, so that the
// README shows a program that compiles and runs: readme_test.go checks that
// the README's block is this file's run function, line for line, and runs
// it against a real PostgreSQL.
package readme

import (
	"context"
	"fmt"
	"strings"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
)

// User and Event are the example's mapped structs.
type User struct {
	_    struct{} `table:"users"`
	ID   int64    `db:"id,pk,default"`
	Name string   `db:"name"`
	Team string   `db:"team"`
}

type Event struct {
	ID      int64  `db:"id"`
	Payload string `db:"payload"`
}

// README:begin
func run(ctx context.Context, dsn string) error {
	pool, err := session.NewPool(ctx, dsn) // pgxpool with cancel-request context handling
	if err != nil {
		return err
	}
	defer pool.Close()
	maker := session.NewMaker(pool)
	s := maker.New()
	defer s.Close(ctx)

	// Buffered: every row in memory, the connection already back in the pool.
	res, err := s.Execute(ctx, "select id, name from users where team = $1 order by id", "core")
	if err != nil {
		return err
	}
	for _, row := range res.All() {
		name, ok := row.Get("name") // ok: the result has exactly one column called name
		fmt.Println(name, ok)
	}
	n, err := s.Scalar(ctx, "select count(*) from users") // any, error
	if err != nil {
		return err
	}
	res, err = s.Execute(ctx, "select id, name, team from users where id = $1", 1) // a fresh result
	if err != nil {
		return err
	}
	u, err := buffered.Structs[User](res).One() // ErrNoRows / ErrMultipleRows
	if err != nil {
		return err
	}
	fmt.Println(n, u.Name)

	// Streamed: constant memory, the connection released on every way out.
	st, err := s.Stream(ctx, "select id, payload from events order by id")
	if err != nil {
		return err
	}
	for ev, err := range buffered.Structs[Event](st).Rows() {
		if err != nil {
			return err // a server error arrives after the rows before it
		}
		if ev.ID == 3 {
			break // break cancels the query server-side, no drain
		}
	}
	st.Close() // idempotent: a stream ended by break is already closed

	// Ordered parallel stages over a new stream: fn(ctx, in) (out, error).
	st, err = s.Stream(ctx, "select id, payload from events order by id")
	if err != nil {
		return err
	}
	upper := func(ctx context.Context, ev Event) (string, error) { return strings.ToUpper(ev.Payload), nil }
	p := pipe.ParallelMap(pipe.From(ctx, buffered.Structs[Event](st)), 4, upper)
	for out, err := range p.Rows() {
		if err != nil {
			return err
		}
		fmt.Print(out, " ")
	}
	fmt.Println()

	// Transactions and the unit of work.
	err = maker.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		ada, err := session.GetOne[User](ctx, s, 1) // one query, then held by the identity map
		if err != nil {
			return err
		}
		ada.Team = "infra"                             // the flush UPDATEs this column only
		return s.Add(&User{Name: "eve", Team: "core"}) // INSERTed, its id read back
	}) // nil commits (after a flush); an error or a panic rolls back
	if err != nil {
		return err
	}
	_, err = s.Begin(ctx)
	if err != nil {
		return err
	}
	sp, err := s.BeginNested(ctx) // SAVEPOINT; sp.Rollback undoes only what ran since
	if err != nil {
		return err
	}
	if _, err := s.Execute(ctx, "delete from users"); err != nil {
		return err
	}
	if err := sp.Rollback(ctx); err != nil {
		return err
	}
	return s.Commit(ctx)
}

// README:end

package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/session"
)

// The examples connect to the database named by STREAMCAT_EXAMPLE_DSN, as a
// program would to its own; the package's TestMain (internal/testdb) sets
// it to a throwaway server.

func ExampleMaker_Begin() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "create table example_accounts (name text primary key, balance int not null)"); err != nil {
		log.Fatal(err)
	}
	defer pool.Exec(ctx, "drop table example_accounts")
	maker := session.NewMaker(pool)

	// fn returns nil: the transaction commits
	err = maker.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		_, err := s.Execute(ctx, "insert into example_accounts values ('alice', 100), ('bob', 0)")
		return err
	})
	fmt.Println("open accounts:", err)

	// fn returns an error: the transaction rolls back, and Begin returns it
	errInsufficient := errors.New("insufficient funds")
	transfer := func(from, to string, amount int) error {
		return maker.Begin(ctx, func(ctx context.Context, s *session.Session) error {
			if _, err := s.Execute(ctx, "update example_accounts set balance = balance + $2 where name = $1", to, amount); err != nil {
				return err
			}
			left, err := s.Scalar(ctx, "update example_accounts set balance = balance - $2 where name = $1 returning balance", from, amount)
			if err != nil {
				return err
			}
			if left.(int32) < 0 {
				return errInsufficient
			}
			return nil
		})
	}
	fmt.Println("transfer 30:", transfer("alice", "bob", 30))
	err = transfer("alice", "bob", 500)
	fmt.Println("transfer 500:", err, errors.Is(err, errInsufficient))

	s := maker.New()
	defer s.Close(ctx)
	res, err := s.Execute(ctx, "select name, balance from example_accounts order by name")
	if err != nil {
		log.Fatal(err)
	}
	for _, row := range res.All() {
		fmt.Println(row.Values()...)
	}
	// Output:
	// open accounts: <nil>
	// transfer 30: <nil>
	// transfer 500: insufficient funds true
	// alice 70
	// bob 30
}

func ExampleSession_BeginNested() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "create table example_events (id int primary key, what text)"); err != nil {
		log.Fatal(err)
	}
	defer pool.Exec(ctx, "drop table example_events")

	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	if _, err := s.Begin(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := s.Execute(ctx, "insert into example_events values (1, 'kept')"); err != nil {
		log.Fatal(err)
	}

	// a SAVEPOINT: a failure inside it undoes only what ran since
	sp, err := s.BeginNested(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("nested:", s.InNestedTransaction())
	if _, err := s.Execute(ctx, "insert into example_events values (2, 'undone')"); err != nil {
		log.Fatal(err)
	}
	_, err = s.Execute(ctx, "insert into example_events values (1, 'duplicate')")
	fmt.Println("duplicate:", err != nil)
	if err := sp.Rollback(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("nested:", s.InNestedTransaction(), "in transaction:", s.InTransaction())

	// a savepoint that is committed (released) becomes part of the transaction
	sp, err = s.BeginNested(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Execute(ctx, "insert into example_events values (3, 'released')"); err != nil {
		log.Fatal(err)
	}
	if err := sp.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("savepoint again:", sp.Commit(ctx))

	if err := s.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	res, err := s.Execute(ctx, "select id, what from example_events order by id")
	if err != nil {
		log.Fatal(err)
	}
	for _, row := range res.All() {
		fmt.Println(row.Values()...)
	}
	// Output:
	// nested: true
	// duplicate: true
	// nested: false in transaction: true
	// savepoint again: session: Commit: this transaction has already been committed or rolled back
	// 1 kept
	// 3 released
}

package session_test

import (
	"context"
	"fmt"
	"log"

	"github.com/streamcat/streamcat/localpg"
	"github.com/streamcat/streamcat/session"
)

func ExampleNewPrimaryReplica() {
	ctx := context.Background()
	// a throwaway primary and a streaming hot standby of it
	primary, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer primary.Stop()
	replica, err := primary.StartReplica(ctx, localpg.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer replica.Stop()

	primaryPool, err := session.NewPool(ctx, primary.DSN())
	if err != nil {
		log.Fatal(err)
	}
	defer primaryPool.Close()
	replicaPool, err := session.NewPool(ctx, replica.DSN())
	if err != nil {
		log.Fatal(err)
	}
	defer replicaPool.Close()

	// the Maker's pool is the primary: transactions always run there
	router := session.NewPrimaryReplica(primaryPool, replicaPool)
	maker := session.NewMaker(primaryPool, session.WithRouter(router))
	s := maker.New()
	defer s.Close(ctx)

	// writes go to the primary
	if _, err := s.Execute(ctx, "create table notes (id int primary key, body text)"); err != nil {
		log.Fatal(err)
	}
	if _, err := s.Execute(ctx, "insert into notes values (1, 'hello'), (2, 'world')"); err != nil {
		log.Fatal(err)
	}

	// the replica lags: a read that must see the write it follows runs on
	// the primary (or in the same transaction)
	n, err := s.Scalar(session.OnPrimary(ctx), "select count(*) from notes")
	fmt.Println("on the primary:", n, err)

	// (for this example only: wait until the replica has replayed the writes)
	if err := replica.WaitReplayed(ctx); err != nil {
		log.Fatal(err)
	}

	// reads outside a transaction go to the replica
	res, err := s.Execute(ctx, "select count(*), pg_is_in_recovery() from notes")
	if err != nil {
		log.Fatal(err)
	}
	row, _ := res.One()
	fmt.Println("count, answered by a replica:", row.Values())

	// a locking read is not a plain read: the primary
	v, err := s.Scalar(ctx, "select pg_is_in_recovery() from notes where id = 1 for update")
	fmt.Println("for update, answered by a replica:", v, err)

	// inside a transaction, everything runs on the primary
	err = maker.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		v, err := s.Scalar(ctx, "select pg_is_in_recovery()")
		fmt.Println("in a transaction, answered by a replica:", v)
		return err
	})
	fmt.Println(err)
	// Output:
	// on the primary: 2 <nil>
	// count, answered by a replica: [2 true]
	// for update, answered by a replica: false <nil>
	// in a transaction, answered by a replica: false
	// <nil>
}

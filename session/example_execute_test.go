package session_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/session"
)

// The examples connect to the database named by STREAMCAT_EXAMPLE_DSN, as a
// program would to its own; the package's TestMain (internal/testdb) sets
// it to a throwaway server.

func ExampleSession_Execute() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	// every row is in memory and the connection is back in the pool
	res, err := s.Execute(ctx, "select g as id, $1 || g as name from generate_series(1, 3) g", "user ")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Len(), res.Keys())
	for row, err := range res.Rows() {
		if err != nil {
			log.Fatal(err)
		}
		name, _ := row.Get("name")
		fmt.Println(row.At(0), name)
	}

	n, err := s.Scalar(ctx, "select count(*) from generate_series(1, 10)")
	fmt.Println(n, err)
	// Output:
	// 3 [id name]
	// 1 user 1
	// 2 user 2
	// 3 user 3
	// 10 <nil>
}

package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// The examples connect to the database named by STREAMCAT_EXAMPLE_DSN, as a
// program would to its own; the package's TestMain (internal/testdb) sets
// it to a throwaway server.

// exampleUser is read from the table example_users by its primary key.
type exampleUser struct {
	_    struct{} `table:"example_users"`
	ID   int64    `db:"id,pk"`
	Name string   `db:"name"`
}

func ExampleGet() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `create table example_users (id int8 primary key, name text not null);
		insert into example_users values (1, 'ada'), (2, 'bob')`); err != nil {
		log.Fatal(err)
	}
	defer pool.Exec(ctx, "drop table example_users")

	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	// select "id", "name" from "example_users" where "id" = $1
	u, err := session.Get[exampleUser](ctx, s, 2)
	fmt.Println(u.ID, u.Name, err)

	// the same row is the same object: no second query
	again, err := session.Get[exampleUser](ctx, s, 2)
	fmt.Println(again == u, err)

	missing, err := session.Get[exampleUser](ctx, s, 3)
	fmt.Println(missing == nil, err)

	_, err = session.GetOne[exampleUser](ctx, s, 3)
	fmt.Println(errors.Is(err, buffered.ErrNoRows))
	// Output:
	// 2 bob <nil>
	// true <nil>
	// true <nil>
	// true
}

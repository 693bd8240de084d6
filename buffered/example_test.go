package buffered_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
)

// The examples connect to the database named by STREAMCAT_EXAMPLE_DSN, as a
// program would to its own; the package's TestMain (internal/testdb) sets
// it to a throwaway server.

// exampleResult runs sql on pool and buffers every row.
func exampleResult(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) *buffered.Result {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		log.Fatal(err)
	}
	res, err := buffered.FromRows(rows) // reads every row and returns the connection
	if err != nil {
		log.Fatal(err)
	}
	return res
}

func ExampleFromRows() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	rows, err := pool.Query(ctx, "select g as id, 'user ' || g as name from generate_series(1, 3) g")
	if err != nil {
		log.Fatal(err)
	}
	res, err := buffered.FromRows(rows)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Len(), res.Keys(), res.CommandTag())
	for _, row := range res.All() {
		fmt.Println(row.Values()...)
	}
	fmt.Println("again:", len(res.All()), res.Err()) // exhausted: nothing more, no error
	// Output:
	// 3 [id name] SELECT 3
	// 1 user 1
	// 2 user 2
	// 3 user 3
	// again: 0 <nil>
}

func ExampleView_First() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	first, err := exampleResult(ctx, pool, "select g, g * g from generate_series(1, 3) g").First()
	fmt.Println(first.Values(), err)

	_, err = exampleResult(ctx, pool, "select g from generate_series(1, 3) g").One()
	fmt.Println(errors.Is(err, buffered.ErrMultipleRows))

	one, err := exampleResult(ctx, pool, "select 'only' as word").One()
	word, _ := one.Get("word")
	fmt.Println(word, err)

	n, err := exampleResult(ctx, pool, "select count(*) from generate_series(1, 10)").Scalar()
	fmt.Println(n, err)

	res := exampleResult(ctx, pool, "select 1 where false")
	_, err = res.Scalar()
	fmt.Println(errors.Is(err, buffered.ErrNoRows))
	_, err = res.First() // Scalar closed the result
	fmt.Println(errors.Is(err, buffered.ErrClosed))
	// Output:
	// [1 1] <nil>
	// true
	// only <nil>
	// 10 <nil>
	// true
	// true
}

func ExampleScalarsOf() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	res := exampleResult(ctx, pool, "select g, 'x' from generate_series(1, 4) g")
	fmt.Println(res.Scalars().FetchMany(2)) // generic: int4 decodes to int32
	ints := buffered.ScalarsOf[int64](res).All()
	fmt.Println(ints) // typed, and the read position is shared: the rest

	names := buffered.ScalarsOf[*string](exampleResult(ctx, pool, "select v from (values ('a'), (null)) t(v)")).All()
	fmt.Println(*names[0], names[1] == nil)
	// Output:
	// [1 2]
	// [3 4]
	// a true
}

func ExampleRowView_Mappings() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	res := exampleResult(ctx, pool, "select g as id, 'n' || g as name from generate_series(1, 2) g")
	for m, err := range res.Mappings().Rows() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m["id"], m["name"])
	}
	// Output:
	// 1 n1
	// 2 n2
}

func ExampleRowView_Columns() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	res := exampleResult(ctx, pool, "select 1 as a, 2 as b, 3 as c")
	view := res.Columns("c", "a")
	row, err := view.One()
	fmt.Println(view.Keys(), row.Values(), err)

	_, err = exampleResult(ctx, pool, "select 1 as a").Columns("z").First()
	fmt.Println(err)
	// Output:
	// [c a] [3 1] <nil>
	// buffered: First: Columns: no such column "z"; the result has: "a"
}

func ExampleRowView_Unique() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	const q = "select v, w from (values (1, 'a'), (1, 'a'), (2, 'b'), (1, 'a'), (1, 'z')) t(v, w)"
	for _, row := range exampleResult(ctx, pool, q).Unique().All() {
		fmt.Println(row.Values()...) // rows equal to an earlier one are skipped
	}
	fmt.Println(exampleResult(ctx, pool, q).Unique().Scalars().All())        // distinct first-column values
	fmt.Println(exampleResult(ctx, pool, q).Scalars().Unique().FetchMany(2)) // n distinct values
	// Output:
	// 1 a
	// 2 b
	// 1 z
	// [1 2]
	// [1 2]
}

func ExampleView_Partitions() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	res := exampleResult(ctx, pool, "select g from generate_series(1, 7) g")
	for chunk, err := range buffered.ScalarsOf[int](res).Partitions(3) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(chunk)
	}
	// Output:
	// [1 2 3]
	// [4 5 6]
	// [7]
}

func ExampleStructs() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	type user struct {
		ID       int64
		FullName string  // matches full_name
		Email    *string `db:"mail"`
		Internal string  `db:"-"`
	}
	res := exampleResult(ctx, pool, `select id, full_name, mail from (values
		(1, 'Ada Lovelace', 'ada@example.com'), (2, 'Alan Turing', null)) t(id, full_name, mail)`)
	for _, u := range buffered.Structs[user](res).All() {
		fmt.Println(u.ID, u.FullName, u.Email != nil)
	}
	// Output:
	// 1 Ada Lovelace true
	// 2 Alan Turing false
}

func ExampleRowView_Freeze() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	res := exampleResult(ctx, pool, "select g from generate_series(1, 4) g")
	res.FetchOne() // the snapshot holds the remaining rows
	frozen, err := res.Freeze()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(frozen.Len())
	fmt.Println(frozen.Result().Scalars().All())
	fmt.Println(frozen.Result().Scalars().All()) // again, from the start
	// Output:
	// 3
	// [2 3 4]
	// [2 3 4]
}

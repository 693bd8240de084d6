package stream_test

import (
	"context"
	"fmt"
	"os"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// The examples connect to the database named by STREAMCAT_EXAMPLE_DSN, as a
// program would to its own; the package's TestMain (internal/testdb) sets
// it to a throwaway server.

// Stream a result row by row; a break ends the query server-side and gives
// the connection back.
func ExampleResult_Rows() {
	ctx := context.Background()
	pool, err := session.NewPool(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	st, err := s.Stream(ctx, "select g as id, 'item '||g as name from generate_series(1, 1000000) g")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	fmt.Println(st.Keys())
	for row, err := range st.Rows() {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		name, _ := row.Get("name")
		fmt.Println(row.At(0), name)
		if row.At(0) == int32(3) {
			break // the other 999,997 rows are never sent
		}
	}
	// Output:
	// [id name]
	// 1 item 1
	// 2 item 2
	// 3 item 3
}

// Partitions hands a stream over in chunks, for batch work such as bulk
// inserts elsewhere; typed rows come from buffered.Structs.
func ExampleResult_Partitions() {
	ctx := context.Background()
	pool, err := session.NewPool(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	st, err := s.Stream(ctx, "select g as id, g * 10 as score from generate_series(1, 10) g")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	type entry struct {
		ID    int32
		Score int32
	}
	for chunk, err := range buffered.Structs[entry](st).Partitions(4) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(len(chunk), chunk[0], chunk[len(chunk)-1])
	}
	// Output:
	// 4 {1 10} {4 40}
	// 4 {5 50} {8 80}
	// 2 {9 90} {10 100}
}

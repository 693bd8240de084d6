package pipe_test

import (
	"context"
	"fmt"
	"os"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
)

// The examples connect to the database named by STREAMCAT_EXAMPLE_DSN, as a
// program would to its own; the package's TestMain (internal/testdb) sets
// it to a throwaway server.

// A stream's rows, filtered on the consumer's goroutine, then mapped by four
// workers; the results come out in the order of the rows.
func ExampleParallelMap() {
	ctx := context.Background()
	pool, err := session.NewPool(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	res, err := s.Stream(ctx, "select g::int8 from generate_series(1, 10) g")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The pipe takes the stream over: it closes it (and releases the
	// connection) when it ends, however it ends.
	odd := pipe.Filter(pipe.From(ctx, buffered.ScalarsOf[int64](res)),
		func(g int64) (bool, error) { return g%2 == 1, nil })
	squares := pipe.ParallelMap(odd, 4, func(ctx context.Context, g int64) (string, error) {
		return fmt.Sprintf("%d² = %d", g, g*g), nil
	})
	defer squares.Close()

	for sq, err := range squares.Rows() {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(sq)
	}
	// Output:
	// 1² = 1
	// 3² = 9
	// 5² = 25
	// 7² = 49
	// 9² = 81
}

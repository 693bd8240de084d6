package columnar_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/session"
)

// The example connects to the database named by STREAMCAT_EXAMPLE_DSN, as
// a program would to its own; the package's TestMain sets it to a
// throwaway server.

// Write a stream as a Parquet file: the schema comes from the columns
// (id INT64, name STRING, price DECIMAL(10,2)), one row group per 65,536
// rows or 4 MiB.
func ExampleWrite() {
	ctx := context.Background()
	pool, err := session.NewPool(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	s := session.NewMaker(pool).New()
	defer s.Close(ctx)

	st, err := s.Stream(ctx, "select g::int8 as id, 'item '||g as name, (g * 1.5)::numeric(10,2) as price from generate_series(1, 100000) g")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	var out bytes.Buffer // an *os.File in a program
	n, err := columnar.Write(&out, columnar.Parquet, st, columnar.Options{})
	fmt.Println(n, err, bytes.HasPrefix(out.Bytes(), []byte("PAR1")))
	// Output: 100000 <nil> true
}

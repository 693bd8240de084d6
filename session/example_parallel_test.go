package session_test

import (
	"cmp"
	"context"
	"fmt"
	"log"
	"os"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/pipe"
	"github.com/streamcat/streamcat/session"
)

func ExampleMaker_StreamParallel() {
	ctx := context.Background()
	pool, err := session.NewPool(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `create table example_events as
		select g as id, g % 10 as kind from generate_series(1, 10000) g;
		analyze example_events`); err != nil {
		log.Fatal(err)
	}
	defer pool.Exec(ctx, "drop table example_events")
	maker := session.NewMaker(pool)

	// Four connections, one snapshot, one range of ids each, in id order.
	p, err := maker.StreamParallel(ctx, "select id from example_events where kind = $1",
		session.ParallelOptions{Workers: 4, SplitBy: "id", Ordered: true}, 3)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	var views []*buffered.View[int32]
	for _, st := range p.Streams {
		views = append(views, buffered.ScalarsOf[int32](st))
	}
	// The slices are disjoint ranges, each sorted: merging them by id is
	// reading them one after the other. pipe.FanIn would take rows as they
	// come.
	ids, err := pipe.Merge(ctx, cmp.Compare[int32], views...).All()
	if err != nil {
		log.Fatal(err) // p.Failed() names the slice that failed first
	}
	fmt.Println(len(p.Slices), "slices:", len(ids), "rows, first", ids[0], "last", ids[len(ids)-1])
	// Output:
	// 4 slices: 1000 rows, first 3 last 9993
}

package session_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/session"
)

// The examples connect to the database named by STREAMCAT_EXAMPLE_DSN, as a
// program would to its own; the package's TestMain (internal/testdb) sets
// it to a throwaway server.

// Each request gets a session of its own through the middleware, which
// closes it (rolling back whatever is left open) when the handler returns.
func ExampleScoped() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("STREAMCAT_EXAMPLE_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	scoped := session.NewScoped(session.NewMaker(pool))
	handler := func(w http.ResponseWriter, req *http.Request) {
		ctx := req.Context()
		s, err := scoped.Session(ctx) // this request's session
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if _, err := s.Begin(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		greeting, err := s.Scalar(ctx, "select 'hello, ' || $1::text", req.URL.Query().Get("name"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := s.Commit(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, greeting)
	}
	srv := httptest.NewServer(scoped.Middleware(http.HandlerFunc(handler)))
	defer srv.Close()

	for _, name := range []string{"ada", "bob"} {
		resp, err := srv.Client().Get(srv.URL + "/?name=" + name)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("scopes left:", scoped.Len())

	// outside net/http: a scope per unit of work, removed when it is done
	work := scoped.WithScope(ctx)
	defer scoped.Remove(work)
	s, _ := scoped.Session(work)
	same, _ := scoped.Session(work)
	fmt.Println("same session in one scope:", s == same)
	// Output:
	// 200 hello, ada
	// 200 hello, bob
	// scopes left: 0
	// same session in one scope: true
}

// Package testsupport holds what the tests and benchmarks of several
// packages share, so each helper and each dataset exists once: the datasets
// the benchmarks read (bench, bench/clibench), row counts from the
// environment, a connection's backend pid, and PostgreSQL's own row_to_json
// as an oracle for JSON output (encode, cmd/streamcat).
package testsupport

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Querier is what the helpers query through: a *pgxpool.Pool, a
// *pgxpool.Conn or a *pgx.Conn.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// The benchmark datasets, as SELECTs over generate_series(1,{N}) g (see
// Generate), so every run and every server holds the same values. Narrow is
// two int4 columns; Wide has one column of each common type, NULLs in one
// row of ten, arrays of 1 to 5 elements and a small jsonb object.
const (
	NarrowSQL = `select g::int4 as a, (g*2)::int4 as b from generate_series(1,{N}) g`
	WideSQL   = `select
	g::int8                                                      as id,
	case when g % 10 = 0 then null else 'name-' || md5(g::text) end as name,
	((g::int8 * 7919) % 100000000 / 100.0)::numeric(12,2)        as amount,
	timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds' as created_at,
	g % 3 <> 0                                                   as active,
	(array['red','green','blue','cyan','magenta'])[1:(g % 5) + 1] as tags,
	jsonb_build_object('n', g, 'even', g % 2 = 0, 'hash', left(md5(g::text), 8),
	                   'score', (g % 1000) / 10.0)               as attrs,
	md5(g::text)::uuid                                           as ref
from generate_series(1,{N}) g`
)

// Generate returns a dataset's SELECT for n rows.
func Generate(dataset string, n int) string {
	return strings.ReplaceAll(dataset, "{N}", strconv.Itoa(n))
}

// EnvRows reads a row count from the environment variable name
// (underscores allowed, as in 1_000_000), or returns def when it is unset.
func EnvRows(name string, def int) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive row count", name, s)
	}
	return int(n), nil
}

// BackendPID returns the server process id of the connection q's query
// runs on (with a pool of one connection: that connection); an error fails
// tb.
func BackendPID(tb testing.TB, q Querier) int32 {
	tb.Helper()
	var pid int32
	if err := q.QueryRow(context.Background(), "select pg_backend_pid()").Scan(&pid); err != nil {
		tb.Fatalf("pg_backend_pid: %v", err)
	}
	return pid
}

// RowToJSON returns PostgreSQL's row_to_json of every row of sql, in order,
// as text: the reference the JSON encoders are checked against. An error
// fails tb.
func RowToJSON(tb testing.TB, q Querier, sql string) [][]byte {
	tb.Helper()
	out, err := rowToJSON(q, sql)
	if err != nil {
		tb.Fatalf("row_to_json of %s: %v", sql, err)
	}
	return out
}

func rowToJSON(q Querier, sql string) ([][]byte, error) {
	rows, err := q.Query(context.Background(), "select row_to_json(q_)::text from ("+sql+") q_")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, []byte(s))
	}
	return out, rows.Err()
}

// PgxValues returns what pgx's own Rows.Values gives for every row of sql:
// the oracle decoding is checked against. An error fails tb.
func PgxValues(tb testing.TB, q Querier, sql string, args ...any) [][]any {
	tb.Helper()
	rows, err := q.Query(context.Background(), sql, args...)
	if err != nil {
		tb.Fatalf("query %s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			tb.Fatalf("values of %s: %v", sql, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("rows of %s: %v", sql, err)
	}
	return out
}

// ServerSettings returns the settings of the timing tools' clusters
// (bench/clibench, bench/peers), a new map each call: the tables stay in
// shared buffers, no parallel workers compete for the cores, and
// synchronize_seqscans is off so every `select *` returns the rows in the
// same (physical) order, which the byte comparisons and hashes rely on.
func ServerSettings() map[string]string {
	return map[string]string{
		"shared_buffers":                  "1GB",
		"max_parallel_workers_per_gather": "0",
		"jit":                             "off",
		"autovacuum":                      "off",
		"synchronize_seqscans":            "off",
	}
}

package main

const usageText = `Usage: streamcat [OPTION]... [QUERY]

Runs one SQL query that returns rows and streams them to stdout (or -o FILE)
as CSV, TSV, JSON Lines, a JSON array, Parquet or an Arrow IPC stream, in
constant memory. QUERY comes
from the argument, from -f FILE, or from stdin when stdin is not a terminal.
It must be exactly one statement, and it must return rows: DDL, DML without
RETURNING, COPY and SET are refused before they run (exit 2).

Connection (as psql; the flags win over the connection string):
  --dsn DSN            connection string (URL or keyword/value); default
                       $DATABASE_URL, else the libpq PG* variables, ~/.pgpass
                       and the service file
  -h, --host HOST      server host or socket directory
  -p, --port PORT      server port
  -U, --username USER  user name
  -d, --dbname DBNAME  database name (a connection string is accepted too)
  --embedded           start a throwaway local PostgreSQL for this run (needs
                       the server binaries installed); removed at exit
  --init FILE.sql      with --embedded: run this script first (several
                       statements allowed)
  PGDATESTYLE, PGTZ, PGOPTIONS and PGCLIENTENCODING apply as in psql (jsonl
  and json are always UTF-8); the application_name is "streamcat" unless
  set; connecting gives up after 10s unless connect_timeout
  (PGCONNECT_TIMEOUT) says otherwise.

Query:
  -f, --file FILE      read QUERY from FILE ("-" is stdin)
  -v, --param VALUE    bind VALUE to the next placeholder ($1, $2, ...) as
                       text; repeatable. Cast in SQL: select $1::int + 1
  --limit N            stop after N rows (the rest is cancelled server-side);
                       0 means no limit
  --timeout DURATION   give up after DURATION, connecting included (e.g.
                       500ms, 30s, 5m): the query is cancelled server-side
  --batch N            with --parallel or several servers: rows per batch
                       each stream hands over (default 1000); a single
                       query's rows are read off the socket as they come

Scaling out:
  --parallel N         read the query with N connections at once, all under
                       one exported snapshot (the rows equal one serial run's);
                       QUERY must be SELECT columns FROM table [WHERE ...] or
                       TABLE table (checked with EXPLAIN; anything else is
                       refused). Rows come in no particular order
  --split-by COLUMN    with --parallel: split by ranges of COLUMN instead of
                       block ranges, and write in COLUMN order (as the query
                       with ORDER BY COLUMN)
  --dsn DSN ...        given more than once: run QUERY on every server at
                       once and write all their rows (each server's rows from
                       one snapshot of it; none across servers)
  --shards FILE        more servers: one connection string a line (# comments)
  --merge-by COLUMN    with several servers: merge their rows in COLUMN order
                       ("COLUMN DESC" too); QUERY must ORDER BY it, text
                       COLLATE "C"

Output:
  --format FORMAT      csv (default), tsv, jsonl, json, parquet or arrow
                       (parquet and arrow: to -o FILE or a non-terminal
                       stdout; types kept, see README "Columnar output")
  --compression C      parquet: zstd (default), snappy or none; arrow: none
                       (default) or zstd
  --row-group N        parquet/arrow: rows per row group / record batch
                       (default 65536; a batch also ends at 8 MiB of values)
  --numeric MODE       parquet/arrow: numeric without a precision (or over
                       38 digits): exact (default, a string) or float64
  --header             csv/tsv: start with a line of column names
  --null STRING        csv/tsv: text for SQL NULL (csv: empty field, tsv: \N)
  --delimiter CHAR     csv/tsv: field separator (csv: ",", tsv: tab; "\t"
                       means tab)
  -o, --output FILE    write to FILE ("-" is stdout). A regular FILE (or the
                       file a symlink points to) is replaced only when the
                       query succeeded, through a synced temporary file
                       .FILE.streamcat-*.tmp next to it; a FIFO or device
                       (/dev/null, /dev/stdout) is written straight through
  --stats              print rows, bytes, elapsed time and rows/s on stderr
  --progress WHEN      progress on stderr: auto (when stderr is a terminal;
                       default), always (on a pipe or file: a line every 3s)
                       or never
  -?, --help           show this help (alone)
  -V, --version        show the version and commit (alone)

csv is byte-identical to COPY (QUERY) TO STDOUT WITH (FORMAT csv [, HEADER]),
tsv to COPY's text format, and each jsonl line equals row_to_json of the row.

Examples:
  streamcat -h db -U me -d app 'select * from orders' > orders.csv
  streamcat --dsn postgres://me@db/app --format jsonl -v 2024-01-01 \
      'select * from events where at >= $1::date' | jq .
  echo 'select generate_series(1, 10)' | streamcat --format tsv --header
  streamcat -o users.csv --header --stats 'table users'
  streamcat --embedded --init schema.sql 'select * from seed'

Exit codes:
  0    success (also when stdout was closed early, as by | head)
  1    the query or the run failed (server error, --timeout, write error)
  2    usage error: flags, QUERY, a missing file, an unknown format, a
       parameter count that does not match, a statement that returns no
       rows; or no connection to the server
  130  interrupted by SIGINT: the query is cancelled server-side; when the
       server does not answer within 1s the connection is dropped; a second
       SIGINT exits at once
  143  terminated by SIGTERM (as SIGINT)
`

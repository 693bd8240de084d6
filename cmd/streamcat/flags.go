package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/streamcat/streamcat/encode"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1   // the query or the run failed
	exitUsage   = 2   // bad flags or input, or no connection
	exitSIGINT  = 130 // interrupted (128 + SIGINT)
	exitSIGTERM = 143 // terminated (128 + SIGTERM)
)

const usageText = `Usage: streamcat [flags] [QUERY]

Runs one SQL query and streams its rows to stdout (or -o FILE) as CSV, TSV,
JSON Lines or a JSON array, in constant memory. QUERY comes from the
argument, from -f FILE, or from stdin when stdin is not a terminal. It must
be exactly one statement.

Connection:
  --dsn DSN          connection string (URL or keyword/value); default
                     $DATABASE_URL, else the libpq PG* variables, ~/.pgpass
                     and the service file
  --embedded         start a throwaway local PostgreSQL for this run (needs
                     the server binaries installed); removed at exit
  --init FILE.sql    with --embedded: run this script first (several
                     statements allowed)

Query:
  -f FILE            read QUERY from FILE ("-" is stdin)
  -p, --param VALUE  bind VALUE to the next placeholder ($1, $2, ...) as
                     text; repeatable. Cast in SQL: select $1::int + 1
  --limit N          stop after N rows (the rest is cancelled server-side);
                     0 means no limit
  --timeout DUR      cancel the query after DUR (e.g. 30s, 5m)
  --batch N          rows per batch fetched from the server (default 1000)

Output:
  --format FORMAT    csv (default), tsv, jsonl or json
  --header           csv/tsv: start with a line of column names
  --null STRING      csv/tsv: text for SQL NULL (csv: empty field, tsv: \N)
  --delimiter CHAR   csv/tsv: field separator (csv: ",", tsv: tab; "\t"
                     means tab)
  -o FILE            write to FILE: a temporary file next to it is renamed
                     over FILE only when the query succeeded
  --stats            print rows, bytes, elapsed time and rows/s on stderr
  --progress WHEN    live progress on stderr: auto (when stderr is a
                     terminal; default), always or never
  -h, --help         show this help

csv is byte-identical to COPY (QUERY) TO STDOUT WITH (FORMAT csv [, HEADER]),
tsv to COPY's text format, and each jsonl line equals row_to_json of the row.

Examples:
  streamcat --dsn postgres://me@db/app 'select * from orders' > orders.csv
  streamcat --format jsonl -p 2024-01-01 \
      'select * from events where at >= $1::date' | jq .
  echo 'select generate_series(1, 10)' | streamcat --format tsv --header
  streamcat -o users.csv --header --stats 'table users'
  streamcat --embedded --init schema.sql 'select * from seed'

Exit codes:
  0    success (also when stdout was closed early, as by | head)
  1    the query or the run failed (server error, timeout, write error)
  2    usage error (flags, QUERY, parameter count, output file) or no
       connection to the server
  130  interrupted by SIGINT (the query is cancelled server-side)
  143  terminated by SIGTERM (the query is cancelled server-side)
`

// options are the parsed command line.
type options struct {
	dsn       string
	embedded  bool
	initFile  string
	queryFile string
	query     string // from the argument, if any
	params    paramList
	limit     int64
	timeout   time.Duration
	batch     int
	format    string
	encOpts   encode.Options
	output    string
	stats     bool
	progress  string
	delimiter string
}

// paramList is the repeatable -p / --param flag.
type paramList []string

func (p *paramList) String() string { return strings.Join(*p, ",") }

func (p *paramList) Set(v string) error {
	*p = append(*p, v)
	return nil
}

// usageError is a problem with the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp asks for the usage text.
var errHelp = errors.New("help requested")

// parseFlags parses args. Flags may come before or after QUERY; "--" ends
// the flags.
func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("streamcat", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line by run
	fs.Usage = func() {}
	fs.StringVar(&o.dsn, "dsn", "", "")
	fs.BoolVar(&o.embedded, "embedded", false, "")
	fs.StringVar(&o.initFile, "init", "", "")
	fs.StringVar(&o.queryFile, "f", "", "")
	fs.Var(&o.params, "p", "")
	fs.Var(&o.params, "param", "")
	fs.Int64Var(&o.limit, "limit", 0, "")
	fs.DurationVar(&o.timeout, "timeout", 0, "")
	fs.IntVar(&o.batch, "batch", 0, "")
	fs.StringVar(&o.format, "format", "csv", "")
	fs.BoolVar(&o.encOpts.Header, "header", false, "")
	fs.StringVar(&o.encOpts.Null, "null", "", "")
	fs.StringVar(&o.delimiter, "delimiter", "", "")
	fs.StringVar(&o.output, "o", "", "")
	fs.BoolVar(&o.stats, "stats", false, "")
	fs.StringVar(&o.progress, "progress", "auto", "")

	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usagef("%v (see --help)", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "null" {
			o.encOpts.NullSet = true
		}
	})

	switch len(positional) {
	case 0:
	case 1:
		o.query = positional[0]
	default:
		return nil, usagef("too many arguments: QUERY must be one argument (quote it)")
	}
	if o.query != "" && o.queryFile != "" {
		return nil, usagef("give QUERY either as an argument or with -f, not both")
	}
	if o.delimiter != "" {
		d := o.delimiter
		if d == `\t` {
			d = "\t"
		}
		if len(d) != 1 {
			return nil, usagef("--delimiter must be a single ASCII character, got %q", o.delimiter)
		}
		o.encOpts.Delimiter = d[0]
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return nil, usagef("--progress must be auto, always or never, got %q", o.progress)
	}
	if o.limit < 0 {
		return nil, usagef("--limit must not be negative")
	}
	if o.batch < 0 {
		return nil, usagef("--batch must not be negative")
	}
	if o.timeout < 0 {
		return nil, usagef("--timeout must not be negative")
	}
	if o.embedded && o.dsn != "" {
		return nil, usagef("--embedded and --dsn exclude each other")
	}
	if o.initFile != "" && !o.embedded {
		return nil, usagef("--init needs --embedded (it is meant for the throwaway server)")
	}
	return o, nil
}

// readQuery returns the query text from the argument, -f or stdin.
func readQuery(o *options, stdin io.Reader) (string, error) {
	q := o.query
	switch {
	case q != "":
	case o.queryFile == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return "", usagef("read QUERY from stdin: %v", err)
		}
		q = string(b)
	case o.queryFile != "":
		b, err := os.ReadFile(o.queryFile)
		if err != nil {
			return "", usagef("read QUERY: %v", err)
		}
		q = string(b)
	case stdin != nil && !isTerminal(stdin):
		b, err := io.ReadAll(stdin)
		if err != nil {
			return "", usagef("read QUERY from stdin: %v", err)
		}
		q = string(b)
	}
	if strings.TrimSpace(q) == "" {
		return "", usagef("no QUERY: give it as an argument, with -f FILE or on stdin (see --help)")
	}
	return q, nil
}

// isTerminal reports whether r is a character device (a terminal, or
// /dev/null, which has nothing to read either).
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

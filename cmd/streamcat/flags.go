package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/streamcat/streamcat/encode"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1   // the query or the run failed
	exitUsage   = 2   // bad flags, QUERY, file or statement kind, or no connection
	exitSIGINT  = 130 // interrupted (128 + SIGINT)
	exitSIGTERM = 143 // terminated (128 + SIGTERM)
)

// options are the parsed command line.
type options struct {
	dsn       string
	host      string // -h: overrides the connection string's host
	port      string // -p
	user      string // -U
	dbname    string // -d: a database name (a connection string moves to dsn)
	embedded  bool
	initFile  string
	queryFile string
	query     string // from the argument, if any
	params    []string
	limit     int64
	timeout   time.Duration
	batch     int
	format    string
	encOpts   encode.Options
	output    string // "" and "-" are stdout
	stats     bool
	progress  string
	delimiter string
	col       columnarFlags // --format parquet and arrow
	scale     scaleFlags    // --parallel, --split-by, several --dsn, --shards, --merge-by
}

// usageError is a problem with the command line or its input: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp and errVersion ask for the usage text and the version, alone.
var (
	errHelp    = errors.New("help requested")
	errVersion = errors.New("version requested")
)

// durationValue is a --timeout that explains what a duration looks like
// when it cannot parse one (pflag would print Go's "time: missing unit").
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string { return v.d.String() }
func (v durationValue) Type() string   { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a number with a unit, e.g. 500ms, 30s, 5m or 1h30m")
	}
	*v.d = d
	return nil
}

// intValue is an integer flag whose error says what is wanted instead of
// quoting strconv.
type intValue struct{ n *int64 }

func (v intValue) String() string { return strconv.FormatInt(*v.n, 10) }
func (v intValue) Type() string   { return "int" }
func (v intValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("want a whole number")
	}
	*v.n = n
	return nil
}

// parseFlags parses args with GNU-style short and long flags (pflag): flags
// may come before or after QUERY, "--" ends them.
func parseFlags(args []string) (*options, error) {
	o := &options{}
	var help, version bool
	var batch int64
	fs := pflag.NewFlagSet("streamcat", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line by run
	fs.Usage = func() {}
	fs.SortFlags = false
	fs.StringArrayVar(&o.scale.dsns, "dsn", nil, "")
	fs.StringVar(&o.scale.shards, "shards", "", "")
	fs.Var(intValue{&o.scale.parallel}, "parallel", "")
	fs.StringVar(&o.scale.splitBy, "split-by", "", "")
	fs.StringVar(&o.scale.mergeBy, "merge-by", "", "")
	fs.StringVarP(&o.host, "host", "h", "", "")
	fs.StringVarP(&o.port, "port", "p", "", "")
	fs.StringVarP(&o.user, "username", "U", "", "")
	fs.StringVarP(&o.dbname, "dbname", "d", "", "")
	fs.BoolVar(&o.embedded, "embedded", false, "")
	fs.StringVar(&o.initFile, "init", "", "")
	fs.StringVarP(&o.queryFile, "file", "f", "", "")
	fs.StringArrayVarP(&o.params, "param", "v", nil, "")
	fs.Var(intValue{&o.limit}, "limit", "")
	fs.Var(durationValue{&o.timeout}, "timeout", "")
	fs.Var(intValue{&batch}, "batch", "")
	fs.StringVar(&o.format, "format", "csv", "")
	fs.BoolVar(&o.encOpts.Header, "header", false, "")
	fs.StringVar(&o.encOpts.Null, "null", "", "")
	fs.StringVar(&o.delimiter, "delimiter", "", "")
	fs.StringVar(&o.col.compression, "compression", "", "")
	fs.Var(intValue{&o.col.rowGroup}, "row-group", "")
	fs.StringVar(&o.col.numeric, "numeric", "", "")
	fs.StringVarP(&o.output, "output", "o", "", "")
	fs.BoolVar(&o.stats, "stats", false, "")
	fs.StringVar(&o.progress, "progress", "auto", "")
	fs.BoolVarP(&help, "help", "?", false, "")
	fs.BoolVarP(&version, "version", "V", false, "")

	if err := fs.Parse(args); err != nil {
		return nil, usagef("%v (see --help)", err)
	}
	if help || version {
		// Asked for alone, help and version go to stdout with exit 0. With
		// anything else the user meant to run a query: a usage error, so
		// `streamcat --help ... > out.csv` cannot leave usage text in a file
		// with exit 0.
		if len(args) != 1 {
			return nil, usagef("--help and --version take no other arguments (got %d more)", len(args)-1)
		}
		if help {
			return nil, errHelp
		}
		return nil, errVersion
	}
	o.encOpts.NullSet = fs.Changed("null")
	o.batch = int(batch)

	switch pos := fs.Args(); len(pos) {
	case 0:
	case 1:
		o.query = pos[0]
	default:
		return nil, usagef("too many arguments: QUERY must be one argument (quote it); got %d", len(pos))
	}
	if len(o.scale.dsns) > 0 {
		o.dsn = o.scale.dsns[0]
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := o.checkScale(); err != nil {
		return nil, err
	}
	return o, o.checkColumnar(fs.Changed)
}

// check validates the combination of options.
func (o *options) check() error {
	if o.query != "" && o.queryFile != "" {
		return usagef("give QUERY either as an argument or with -f/--file, not both")
	}
	if o.delimiter != "" {
		d := o.delimiter
		if d == `\t` {
			d = "\t"
		}
		if len(d) != 1 {
			return usagef("--delimiter must be a single ASCII character, got %q", o.delimiter)
		}
		o.encOpts.Delimiter = d[0]
	}
	if looksLikeConnString(o.dbname) {
		// psql accepts a connection string as -d
		if o.dsn != "" {
			return usagef("give the connection string either with --dsn or with -d/--dbname, not both")
		}
		o.dsn, o.dbname = o.dbname, ""
	}
	if o.port != "" {
		if n, err := strconv.Atoi(o.port); err != nil || n < 1 || n > 65535 {
			return usagef("-p/--port must be a port number (1-65535), got %q; query parameters are -v/--param", o.port)
		}
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return usagef("--progress must be auto, always or never, got %q", o.progress)
	}
	switch {
	case o.limit < 0:
		return usagef("--limit must not be negative")
	case o.batch < 0:
		return usagef("--batch must not be negative")
	case o.timeout < 0:
		return usagef("--timeout must not be negative")
	case o.embedded && (o.dsn != "" || o.host != "" || o.port != "" || o.user != "" || o.dbname != ""):
		return usagef("--embedded excludes --dsn, -h, -p, -U and -d (it starts its own server)")
	case o.initFile != "" && !o.embedded:
		return usagef("--init needs --embedded (it is meant for the throwaway server)")
	}
	if o.output == "-" {
		o.output = ""
	}
	return nil
}

// looksLikeConnString reports whether s is a connection URL or a
// keyword=value string rather than a database name, as psql decides for -d.
func looksLikeConnString(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") || strings.Contains(s, "=")
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
			return "", usagef("-f: read QUERY: %v", err)
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

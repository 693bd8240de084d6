package columnar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/columnar"
	"github.com/streamcat/streamcat/internal/coltest"
)

// jsDir holds read.js and the apache-arrow version it is pinned to
// (package-lock.json); node_modules is installed there by the tests.
const jsDir = "jsreader"

var (
	jsOnce sync.Once
	// jsSkip: why the JavaScript reader cannot run here; jsErr: why its
	// install failed for another reason than a missing tool or network.
	jsSkip string
	jsErr  error
)

// npmOffline matches npm's errors for a registry it cannot reach.
var npmOffline = regexp.MustCompile(`ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network`)

// installJS runs npm ci once per test binary: it installs the pinned
// apache-arrow (a few seconds from npm's cache). A machine without node or
// npm, or without the registry, skips the tests that need it.
func installJS(t *testing.T) {
	t.Helper()
	jsOnce.Do(func() {
		// Opened here so that go test's cache knows the result depends on
		// them (node reads them in another process).
		for _, f := range []string{"read.js", "package.json", "package-lock.json"} {
			if _, err := os.ReadFile(filepath.Join(jsDir, f)); err != nil {
				jsErr = err
				return
			}
		}
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				jsSkip = tool + " not found in PATH; install Node.js (20 or later) and npm to read the Arrow streams with apache-arrow"
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = jsDir
		// Fail fast without a registry rather than retrying for minutes.
		cmd.Env = append(os.Environ(), "npm_config_fetch_retries=1", "npm_config_update_notifier=false")
		out, err := cmd.CombinedOutput()
		switch {
		case err == nil:
		case npmOffline.Match(out):
			jsSkip = "npm ci in columnar/jsreader could not reach the npm registry, so apache-arrow is not installed: " + string(offlineLine(out))
		default:
			jsErr = errors.New("npm ci in columnar/jsreader: " + err.Error() + "\n" + string(out))
		}
	})
	if jsSkip != "" {
		t.Skip(jsSkip)
	}
	require.NoError(t, jsErr)
}

// offlineLine is the line of npm's output that says the registry could not
// be reached.
func offlineLine(out []byte) []byte {
	for _, line := range bytes.Split(out, []byte("\n")) {
		if npmOffline.Match(line) {
			return bytes.TrimSpace(line)
		}
	}
	return nil
}

// readJS reads the Arrow streams in files with apache-arrow, in one node
// process.
func readJS(t *testing.T, files []string) []coltest.JSStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(jsDir, "read.js")}, files...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "node read.js: %s", stderr.String())
	var out []coltest.JSStream
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	require.Len(t, out, len(files))
	return out
}

// jsCheck is one Arrow stream written to a file, what its rows must be, and
// what else to check once apache-arrow has read it.
type jsCheck struct {
	name  string
	file  string
	want  [][]string
	fixup func(rows [][]string) // canonicalize what was read, as for arrow-go
	check func(t *testing.T, got coltest.JSStream)
}

// TestArrowReadByJS: every Arrow stream the type table, an empty result, a
// result without columns and a multi-batch result make is read back by
// apache-arrow, the JavaScript implementation of Arrow, which shares no
// code with arrow-go, the writer; every value is compared with what pgx
// decodes from the same query.
func TestArrowReadByJS(t *testing.T) {
	installJS(t)
	dir := t.TempDir()
	var (
		checks []jsCheck
		files  []string
	)
	write := func(conn *pgx.Conn, name, sql string, opts columnar.Options, formats string) string {
		data, err := writeQuery(t, conn, sql, columnar.Arrow, opts, formatChoices[formats])
		require.NoError(t, err, name)
		file := filepath.Join(dir, strconv.Itoa(len(files))+".arrows")
		files = append(files, file)
		require.NoError(t, os.WriteFile(file, data, 0o600))
		return file
	}
	withConn(t, func(conn *pgx.Conn) {
		require.NoError(t, coltest.Register(context.Background(), conn))
		for _, tc := range coltest.Cases {
			want, sd, opts := expectCase(t, conn, tc)
			for _, formats := range []string{"picked", "text", "binary"} {
				if formats != "picked" && !scalarOnly(tc, sd) {
					continue
				}
				name := tc.Name + "/" + formats
				checks = append(checks, jsCheck{
					name: name, file: write(conn, name, tc.SQL, opts, formats), want: want,
					fixup: func(rows [][]string) { canonicalize(tc, sd, rows) },
					check: func(t *testing.T, got coltest.JSStream) {
						require.Len(t, got.Schema.Fields, 1)
						f := got.Schema.Fields[0]
						assert.Equal(t, sd.Fields[0].Name, f.Name)
						assert.True(t, f.Nullable)
						if formats == "picked" {
							assert.Equal(t, wantJSType[tc.Name], f.Type.Str+extension(f))
						}
					},
				})
			}
		}
		checks = append(checks, jsCheck{
			name: "empty", file: write(conn, "empty", "select 1::int4 as a, 'x'::text as b where false", columnar.Options{}, "picked"),
			check: func(t *testing.T, got coltest.JSStream) {
				assert.Equal(t, 0, got.Batches)
				require.Len(t, got.Schema.Fields, 2)
				assert.Equal(t, "a", got.Schema.Fields[0].Name)
				assert.Equal(t, "Int32", got.Schema.Fields[0].Type.Str)
				assert.Equal(t, "b", got.Schema.Fields[1].Name)
				assert.Equal(t, "Utf8", got.Schema.Fields[1].Type.Str)
			},
		}, jsCheck{
			name: "no columns", file: write(conn, "no columns", "select from generate_series(1, 3)", columnar.Options{}, "picked"),
			want: [][]string{{}, {}, {}},
			check: func(t *testing.T, got coltest.JSStream) {
				assert.Empty(t, got.Schema.Fields)
			},
		})
		var batched [][]string
		for g := 1; g <= 10; g++ {
			batched = append(batched, []string{strconv.Itoa(g), strconv.Quote(strconv.Itoa(g * g))})
		}
		checks = append(checks, jsCheck{
			name: "batches", file: write(conn, "batches", "select g::int8, (g*g)::text from generate_series(1, 10) g", columnar.Options{RowGroupRows: 3}, "picked"),
			want: batched,
			check: func(t *testing.T, got coltest.JSStream) {
				assert.Equal(t, 4, got.Batches)
			},
		})
	})

	require.Len(t, files, len(checks))
	results := readJS(t, files)
	for i, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, files[i], c.file)
			got := results[i]
			rows := make([][]string, 0, len(got.Rows))
			for _, r := range got.Rows {
				require.Len(t, r, len(got.Schema.Fields))
				row := make([]string, len(r))
				for j, v := range r {
					row[j] = coltest.FromJS(got.Schema.Fields[j], v)
				}
				rows = append(rows, row)
			}
			if c.fixup != nil {
				c.fixup(rows)
			}
			if c.want == nil {
				assert.Empty(t, rows)
			} else {
				assert.Equal(t, c.want, rows)
			}
			c.check(t, got)
		})
	}
}

// extension is " ext:NAME" for a field of an Arrow extension type (which
// apache-arrow reads as its storage type, with the name in the metadata).
func extension(f coltest.JSField) string {
	if n := f.Metadata["ARROW:extension:name"]; n != "" {
		return " ext:" + n
	}
	return ""
}

// wantJSType is the Arrow type apache-arrow reads for each case of the type
// table (its rendering, and the extension type's name).
var wantJSType = map[string]string{
	"int2": "Int16", "int4": "Int32", "int8": "Int64", "oid": "Uint32",
	"float4": "Float32", "float8": "Float64", "numeric as float64": "Float64",
	"numeric(10,3)": "Decimal[10e+3]", "numeric(38,10)": "Decimal[38e+10]", "numeric(18,0)": "Decimal[18e0]",
	"numeric": "Utf8", "numeric(40,2)": "Utf8", "domain numeric(8,2)": "Decimal[8e+2]",
	"bool": "Bool", "text": "Utf8", "varchar": "Utf8", "char": "Utf8", "name": "Utf8", "citext": "Utf8",
	"bytea": "Binary", "date": "Date32<DAY>", "time": "Time64<MICROSECOND>",
	"timestamp": "Timestamp<MICROSECOND>", "timestamptz": "Timestamp<MICROSECOND, UTC>",
	"interval": "Struct<{months:Int32, days:Int32, microseconds:Int64}>",
	"uuid":     "FixedSizeBinary[16] ext:arrow.uuid",
	"json":     "Utf8 ext:arrow.json", "jsonb": "Utf8 ext:arrow.json",
	"enum":   "Dictionary<Int32, Utf8>",
	"int4[]": "List<Int32>", "text[]": "List<Utf8>", "numeric(5,2)[]": "List<Decimal[5e+2]>", "enum[]": "List<Utf8>",
	"composite":   "Struct<{a:Int32, b:Utf8, m:Decimal[6e+2], t:Timestamp<MICROSECOND, UTC>}>",
	"composite[]": "List<Struct<{a:Int32, b:Utf8, m:Decimal[6e+2], t:Timestamp<MICROSECOND, UTC>}>>",
	"domain":      "Int32", "domain[]": "List<Int32>",
	"inet (text fallback)": "Utf8", "int4range (text fallback)": "Utf8", "timetz (text fallback)": "Utf8",
}

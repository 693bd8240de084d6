package pgwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/goleak"

	"github.com/streamcat/streamcat/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const (
	stmtName = "pgwire_test"
	grace    = time.Second
	// exitBound is how long a read may take to end against a server that
	// does not answer: the grace period and slack for a loaded machine.
	exitBound = 8 * time.Second
)

// textQuery is stmtName without parameters, in text.
func textQuery(ncol int) Query {
	return Query{Statement: stmtName, Formats: []int16{pgx.TextFormatCode}, Columns: ncol}
}

// wireConn connects to the test server and prepares query as stmtName.
// With polled, the socket is hidden behind a plain net.Conn, as a TLS
// connection's is, so Rows reads it through Go's poller (connReader).
func wireConn(t *testing.T, query string, polled bool) (*pgx.Conn, int) {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(testdb.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if polled {
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return plainConn{c}, err
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	sd, err := conn.Prepare(ctx, stmtName, query)
	if err != nil {
		t.Fatal(err)
	}
	return conn, len(sd.Fields)
}

// checkLeaks checks, after every other cleanup (the test pool's
// included), that the test left no goroutine behind.
func checkLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// plainConn is a net.Conn without SyscallConn.
type plainConn struct{ net.Conn }

// bothReaders runs f with each socketReader: blocking reads and the
// poller's.
func bothReaders(t *testing.T, f func(t *testing.T, polled bool)) {
	for _, polled := range []bool{false, true} {
		t.Run(map[bool]string{false: "blocking", true: "poller"}[polled], func(t *testing.T) {
			checkLeaks(t)
			f(t, polled)
		})
	}
}

// strs is a row's values as strings, "<nil>" for NULL.
func strs(vals [][]byte) []string {
	row := make([]string, len(vals))
	for i, v := range vals {
		if v == nil {
			row[i] = "<nil>"
		} else {
			row[i] = string(v)
		}
	}
	return row
}

// readAll reads every row of w as strings ("<nil>" for NULL).
func readAll(w *Rows) [][]string {
	var rows [][]string
	for {
		vals, ok := w.Next()
		if !ok {
			return rows
		}
		rows = append(rows, strs(vals))
	}
}

// assertIdle checks that conn answers a query after the rows were read:
// the protocol is in step and pgconn's socket settings are back (a low-
// water mark left at 256 KiB would hang this small reply).
func assertIdle(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	if err := conn.QueryRow(ctx, "select 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("the connection after the rows: %d, %v", n, err)
	}
}

// TestWireRowsBulk reads a result far past bulkAfter, in text and binary,
// with parameters, values larger than the read buffer and NULLs, and
// compares every row with pgx's reading of the same query.
func TestWireRowsBulk(t *testing.T) {
	checkLeaks(t)
	const query = `select g, case when g % 7 = 0 then null else repeat(md5(g::text), $1::int) end,
		case when g % 5000 = 0 then repeat('y', 300000 + g) else '' end
		from generate_series(1, $2::int) g`
	bothReaders(t, func(t *testing.T, polled bool) {
		for _, formats := range [][]int16{{pgx.TextFormatCode}, {pgx.BinaryFormatCode}} {
			conn, ncol := wireConn(t, query, polled)
			want := pgxRows(t, conn, query, formats, "3", "20000")
			w, err := Open(context.Background(), conn.PgConn(), Query{Statement: stmtName, Params: []string{"3", "20000"}, Formats: formats, Columns: ncol}, grace)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(w)
			w.Close()
			if err := w.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != 20000 || len(got) != len(want) {
				t.Fatalf("%d rows, want 20000 (pgx: %d)", len(got), len(want))
			}
			for i := range got {
				if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
					t.Fatalf("format %d: row %d differs from pgx's", formats[0], i+1)
				}
			}
			if br, ok := w.rd.(*blockingReader); ok == polled || (ok && !br.bulk) {
				t.Errorf("format %d: reader %T, bulk reads %v", formats[0], w.rd, ok && br.bulk)
			}
			assertIdle(t, conn)
		}
	})
}

// pgxRows reads query with pgx, as strings.
func pgxRows(t *testing.T, conn *pgx.Conn, query string, formats []int16, params ...string) [][]string {
	t.Helper()
	args := []any{pgx.QueryResultFormats(formats)}
	for _, p := range params {
		args = append(args, p)
	}
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		out = append(out, strs(rows.RawValues()))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWireRowsSlowAfterBulk: once in bulk mode a read waits for a buffer's
// worth or bulkWait; a row that comes late, after a pause, still comes.
func TestWireRowsSlowAfterBulk(t *testing.T) {
	bothReaders(t, func(t *testing.T, polled bool) {
		conn, ncol := wireConn(t, `select g, case when g = 3000 then pg_sleep(0.3)::text || 'late' else repeat('x', 1000) end
			from generate_series(1, 3000) g`, polled)
		w, err := Open(context.Background(), conn.PgConn(), textQuery(ncol), grace)
		if err != nil {
			t.Fatal(err)
		}
		rows := readAll(w)
		w.Close()
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3000 || rows[2999][1] != "late" {
			t.Fatalf("%d rows, the last %v", len(rows), rows[len(rows)-1])
		}
		assertIdle(t, conn)
	})
}

// TestWireRowsServerError: an error after some rows is the server's
// *pgconn.PgError, and the connection is idle after it.
func TestWireRowsServerError(t *testing.T) {
	bothReaders(t, func(t *testing.T, polled bool) {
		conn, ncol := wireConn(t, "select 1/(g-50000), repeat('z', 100) from generate_series(1, 60000) g", polled)
		w, err := Open(context.Background(), conn.PgConn(), textQuery(ncol), grace)
		if err != nil {
			t.Fatal(err)
		}
		rows := readAll(w)
		var pe *pgconn.PgError
		if !errors.As(w.Err(), &pe) || pe.Code != "22012" {
			t.Fatalf("err %v, want division_by_zero", w.Err())
		}
		if len(rows) != 49999 {
			t.Errorf("%d rows before the error, want 49999", len(rows))
		}
		w.Close()
		assertIdle(t, conn)
	})
}

// TestWireRowsEarlyClose: closing in the middle of a large result cancels
// the statement, reads the server's answer, and leaves the connection
// idle; the backend is no longer running the statement.
func TestWireRowsEarlyClose(t *testing.T) {
	bothReaders(t, func(t *testing.T, polled bool) {
		marker := fmt.Sprint("wire_early_close_4411_", polled)
		conn, ncol := wireConn(t, "select generate_series(1, 50000000) as "+marker+", repeat('w', 200)", polled)
		w, err := Open(context.Background(), conn.PgConn(), textQuery(ncol), grace)
		if err != nil {
			t.Fatal(err)
		}
		for range 100000 { // past bulkAfter
			if _, ok := w.Next(); !ok {
				t.Fatalf("ended early: %v", w.Err())
			}
		}
		start := time.Now()
		w.Close()
		t.Logf("closed in %v", time.Since(start))
		assertIdle(t, conn)
		testdb.WaitGone(t, marker)
	})
}

// TestWireRowsContextCancel: a cancelled context cancels a statement that
// sends nothing; the read ends with the server's query_canceled, and the
// connection is idle.
func TestWireRowsContextCancel(t *testing.T) {
	bothReaders(t, func(t *testing.T, polled bool) {
		conn, ncol := wireConn(t, "select pg_sleep(30)", polled)
		ctx, cancel := context.WithCancel(context.Background())
		w, err := Open(ctx, conn.PgConn(), textQuery(ncol), grace)
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		if _, ok := w.Next(); ok {
			t.Fatal("a row from pg_sleep(30)")
		}
		var pe *pgconn.PgError
		if !errors.As(w.Err(), &pe) || pe.Code != "57014" {
			t.Fatalf("err %v after %v, want query_canceled", w.Err(), time.Since(start))
		}
		w.Close()
		assertIdle(t, conn)
	})
}

// TestWireRowsNoAnswer: against a stopped backend (SIGSTOP) a cancelled
// context ends the read within the grace period and a little, with the
// no-answer error, and the connection is closed.
func TestWireRowsNoAnswer(t *testing.T) {
	bothReaders(t, func(t *testing.T, polled bool) {
		marker := fmt.Sprint("wire_no_answer_8120_", polled)
		conn, ncol := wireConn(t, "select pg_sleep(60) as "+marker, polled)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w, err := Open(ctx, conn.PgConn(), textQuery(ncol), grace)
		if err != nil {
			t.Fatal(err)
		}
		testdb.WaitActive(t, marker)
		testdb.StopBackend(t, marker)
		cancel()
		start := time.Now()
		if _, ok := w.Next(); ok {
			t.Fatal("a row from a stopped backend")
		}
		el := time.Since(start)
		if !errors.Is(w.Err(), ErrNoAnswer) {
			t.Fatalf("err %v, want the no-answer error", w.Err())
		}
		if el > exitBound {
			t.Errorf("took %v", el)
		}
		w.Close()
		if _, err := conn.Exec(context.Background(), "select 1"); err == nil {
			t.Error("the dropped connection still answers")
		}
	})
}

// TestDecodeRowChecksLengths: a DataRow whose counts or lengths do not fit
// its message is a protocol error, never a slice past its end. (Crafted
// bodies: a healthy server never sends one.)
func TestDecodeRowChecksLengths(t *testing.T) {
	ok := []byte{0, 2, 0, 0, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff}
	for _, tc := range []struct {
		name string
		body []byte
		good bool
	}{
		{"two values, one NULL", ok, true},
		{"empty", nil, false},
		{"wrong count", []byte{0, 3, 0, 0, 0, 0}, false},
		{"cut length", ok[:9], false},
		{"value past the end", []byte{0, 2, 0, 0, 0, 9, 'a', 0xff, 0xff, 0xff, 0xff}, false},
		{"missing value", ok[:7], false},
	} {
		w := &Rows{vals: make([][]byte, 2)}
		got := w.decodeRow(tc.body)
		if got != tc.good || (w.err == nil) != tc.good {
			t.Errorf("%s: decodeRow %v, err %v", tc.name, got, w.err)
		}
		if tc.good && (string(w.vals[0]) != "a" || w.vals[1] != nil) {
			t.Errorf("%s: values %q", tc.name, w.vals)
		}
	}
}

// chunkReader hands out its bytes a few at a time, as a socket may: a
// stand-in for the server where the test needs exact bytes (message
// boundaries at every offset, a corrupt length) that a healthy server
// never sends on demand.
type chunkReader struct {
	b    []byte
	next func() int // how many bytes the next read may return
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.b), max(1, c.next()))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}
func (c *chunkReader) interrupt() {}
func (c *chunkReader) release()   {}

// message encodes one backend message.
func message(typ byte, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{typ}, uint32(4+len(body))), body...)
}

// dataRow encodes a DataRow; nil is NULL.
func dataRow(vals ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(vals)))
	for _, v := range vals {
		if v == nil {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff)
			continue
		}
		b = append(binary.BigEndian.AppendUint32(b, uint32(len(v))), v...)
	}
	return message('D', b)
}

// TestRowsAcrossReads: rows whose messages are cut at every offset by the
// reads, and one larger than the read buffer, come out whole and in order;
// the rows around it are more than twice the buffer, so partial messages
// are moved to its front many times.
func TestRowsAcrossReads(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), readBuffer/16+1000)
	var stream []byte
	stream = append(stream, message('2', nil)...)
	var want [][]string
	for i := range 3000 {
		v := bytes.Repeat([]byte{'a' + byte(i%26)}, i%400)
		stream = append(stream, dataRow([]byte(fmt.Sprint(i)), v, nil)...)
		want = append(want, []string{fmt.Sprint(i), string(v), "<nil>"})
		if i == 1500 {
			stream = append(stream, message('N', []byte("Snotice\x00\x00"))...)
			stream = append(stream, dataRow([]byte("big"), big, []byte{})...)
			want = append(want, []string{"big", string(big), ""})
		}
	}
	stream = append(stream, message('C', []byte("SELECT 3001\x00"))...)
	stream = append(stream, message('Z', []byte{'I'})...)
	for _, tc := range []struct {
		name string
		next func() int
	}{
		{"one byte", func() int { return 1 }},
		{"seven bytes", func() int { return 7 }},
		{"random", func() int { return rand.IntN(5000) }},
	} {
		w := &Rows{rd: &chunkReader{b: stream, next: tc.next}, buf: make([]byte, readBuffer), vals: make([][]byte, 3)}
		got := readAll(w)
		if w.Err() != nil || !w.ended {
			t.Fatalf("%s: err %v, ended %v", tc.name, w.Err(), w.ended)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, want %d", tc.name, len(got), len(want))
		}
		for i := range got {
			if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
				t.Fatalf("%s: row %d differs", tc.name, i)
			}
		}
	}
}

// TestRowsProtocolErrors: bytes that cannot be the protocol end the rows
// with an error that says so, never a panic, a hang or a huge allocation.
func TestRowsProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"length under 4", []byte{'D', 0, 0, 0, 3}, "length 3"},
		{"length over 1 GiB", []byte{'D', 0x7f, 0xff, 0xff, 0xff}, "length 2147483647"},
		{"unknown type", message('W', nil), "message type 'W'"},
		{"row with another column count", dataRow([]byte("x")), "does not have the statement's 3 columns"},
		{"cut short", message('D', []byte{0, 3})[:6], "closed the connection"},
	} {
		w := &Rows{rd: &chunkReader{b: tc.stream, next: func() int { return 3 }}, buf: make([]byte, readBuffer), vals: make([][]byte, 3)}
		if _, ok := w.Next(); ok {
			t.Errorf("%s: a row", tc.name)
		}
		if err := w.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

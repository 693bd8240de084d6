package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/streamcat/streamcat/internal/mapping"
)

// copyRows inserts objects whose every written value is known with
// COPY ... FROM STDIN BINARY, writing the binary stream itself.
//
// Why not pgx's CopyFrom: it asks for each row as a []any (boxing every
// int64, string and time.Time: four allocations a row for a typical
// struct), looks up an encode plan in two maps per value, and hands the
// bytes to the connection's sender through an io.Pipe from a goroutine of
// its own. The unit of work knows each field's Go type, and after one
// describe each column's type, before the first row: it picks an encoder
// per column once and writes the common types (integers, floats, bool,
// text, bytea, timestamps) straight from the struct. Every other type goes
// through the connection's pgx type map exactly as pgx's CopyFrom would
// encode it.
//
// The rows are encoded inside the connection's own sending goroutine
// (pgconn reads the stream from an io.Reader), so the encoding overlaps
// with the server's inserting, and so does the rest of settle that does
// not depend on the outcome: each object's snapshot and its entry by key
// (journal.settleEarly; undone if the flush fails).
//
// The columns' types come from describing "select cols from table", as
// pgx does: in pgx's default exec mode the description is prepared once
// per connection and reused (like pgx's statement cache, it is not looked
// at again after an ALTER TABLE on that connection); in the other modes,
// which promise no prepared statements, it is described afresh each time.
func copyRows(ctx context.Context, tx flushConn, u *unitOfWork, m *mapping.Type, sh insertShape, ts []*tracked, j *journal) error {
	conn := tx.Conn()
	names := make([]string, len(sh.write))
	quoted := make([]string, len(sh.write))
	for i, k := range sh.write {
		names[i] = m.Fields[k].Column
		quoted[i] = pgx.Identifier{names[i]}.Sanitize()
	}
	cols := strings.Join(quoted, ", ")
	sql := "copy " + m.Ident.Sanitize() + " ( " + cols + " ) from stdin binary"
	err := tx.Send(ctx, kindCopy, "COPY "+m.Ident.Sanitize(), func(ctx context.Context) error {
		describe := "select " + cols + " from " + m.Ident.Sanitize()
		name := ""
		if conn.Config().DefaultQueryExecMode == pgx.QueryExecModeCacheStatement {
			name = preparedName("streamcat_copycols_", describe)
		}
		sd, err := conn.Prepare(ctx, name, describe)
		if err != nil {
			return fmt.Errorf("describe the columns: %w", err)
		}
		if len(sd.Fields) != len(sh.write) {
			return fmt.Errorf("describe the columns: %d columns for %d fields", len(sd.Fields), len(sh.write))
		}
		w := newCopyWriter(conn.TypeMap(), m, sh, sd, ts, u, j)
		tracer, _ := conn.Config().Tracer.(pgx.CopyFromTracer)
		if tracer != nil {
			ctx = tracer.TraceCopyFromStart(ctx, conn, pgx.TraceCopyFromStartData{TableName: m.Ident, ColumnNames: names})
		}
		tag, err := conn.PgConn().CopyFrom(ctx, w, sql)
		// pgconn may return before its sending goroutine has left Read
		// (when the connection broke): stop it from touching the objects
		// before the caller undoes what the rows settled
		if werr := w.close(); werr != nil {
			err = werr // the cause, rather than the server's "COPY from stdin failed"
		}
		if err == nil && tag.RowsAffected() != int64(len(ts)) {
			err = fmt.Errorf("COPY wrote %d rows for %d objects", tag.RowsAffected(), len(ts))
		}
		if tracer != nil {
			tracer.TraceCopyFromEnd(ctx, conn, pgx.TraceCopyFromEndData{CommandTag: tag, Err: err})
		}
		return err
	})
	return insertError(m, err)
}

// copyEnc is how one column's values are written.
type copyEnc uint8

const (
	encAny         copyEnc = iota // through pgx's type map, as pgx's CopyFrom does
	encInt2                       // a Go signed integer (any size) into int2
	encInt4                       // ... into int4
	encInt8                       // ... into int8
	encFloat4                     // float32 into float4
	encFloat8                     // float32 or float64 into float8
	encBool                       // bool into bool
	encText                       // a string into text, varchar or bpchar
	encBytea                      // []byte into bytea (nil is NULL)
	encTimestamptz                // time.Time into timestamptz
	encTimestamp                  // time.Time into timestamp (its wall clock, as pgx)
)

// copyCol is one column of the COPY.
type copyCol struct {
	f   *mapping.Field
	oid uint32
	enc copyEnc
}

var typeBytes = reflect.TypeFor[[]byte]()

// copyEncFor picks the encoder for a field of type typ into a column of
// type oid. Only types without methods take the direct paths (a named
// type with a Value or Int64Value method says itself how to encode;
// pgx's type map honours that), except time.Time, whose methods pgx's
// timestamp codecs do not use.
func copyEncFor(typ reflect.Type, oid uint32) copyEnc {
	if typ == typeTime {
		switch oid {
		case pgtype.TimestamptzOID:
			return encTimestamptz
		case pgtype.TimestampOID:
			return encTimestamp
		}
		return encAny
	}
	if reflect.PointerTo(typ).NumMethod() != 0 {
		return encAny
	}
	switch typ.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch oid {
		case pgtype.Int2OID:
			return encInt2
		case pgtype.Int4OID:
			return encInt4
		case pgtype.Int8OID:
			return encInt8
		}
	case reflect.Float32:
		switch oid {
		case pgtype.Float4OID:
			return encFloat4
		case pgtype.Float8OID:
			return encFloat8
		}
	case reflect.Float64:
		if oid == pgtype.Float8OID {
			return encFloat8
		}
	case reflect.Bool:
		if oid == pgtype.BoolOID {
			return encBool
		}
	case reflect.String:
		switch oid {
		case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID:
			return encText
		}
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 && oid == pgtype.ByteaOID {
			return encBytea
		}
	}
	return encAny
}

// copyWriter is the binary COPY stream of one flush's objects, as an
// io.Reader: each Read encodes rows until it can fill the caller's buffer.
type copyWriter struct {
	tm    *pgtype.Map
	cols  []copyCol
	ts    []*tracked
	next  int // ts[next] is the next row to encode
	filed int // ts[:filed] are filed by address (heldSet.fileQueued)

	u    *unitOfWork
	j    *journal
	slab *structSlab
	held bool

	buf []byte // encoded, from off on not yet read
	off int
	eof bool // the trailer is in buf

	mu     sync.Mutex // held by Read; close takes it to wait for a Read to end
	closed bool
	err    error // why encoding stopped, if it failed
}

// copyHeader starts every binary COPY stream: the signature, no flags, no
// header extension.
const copyHeader = "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"

func newCopyWriter(tm *pgtype.Map, m *mapping.Type, sh insertShape, sd *pgconn.StatementDescription, ts []*tracked, u *unitOfWork, j *journal) *copyWriter {
	w := &copyWriter{tm: tm, ts: ts, u: u, j: j,
		slab: &structSlab{typ: m.Go}, held: u.holdsKeyed(m.Go),
		cols: make([]copyCol, len(sh.write)),
		buf:  make([]byte, 0, 80<<10),
	}
	for i, k := range sh.write {
		f := &m.Fields[k]
		oid := sd.Fields[i].DataTypeOID
		w.cols[i] = copyCol{f: f, oid: oid, enc: copyEncFor(f.Type, oid)}
	}
	u.reserve(m.Go, len(ts))
	u.holds.mu.Lock()
	u.holds.m.grow(len(ts))
	u.holds.mu.Unlock()
	j.early = append(j.early, ts) // settleEarly marks those it settles
	w.buf = append(w.buf, copyHeader...)
	return w
}

// Read fills p with the stream, encoding rows as it goes.
func (w *copyWriter) Read(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errCopyClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	for len(w.buf)-w.off < len(p) && !w.eof {
		if w.next == len(w.ts) {
			w.buf = binary.BigEndian.AppendUint16(w.buf, 0xffff) // the trailer: -1 fields
			w.eof = true
			break
		}
		t := w.ts[w.next]
		var err error
		if w.buf, err = w.row(w.buf, t.ptr); err != nil {
			w.err = err
			return 0, err
		}
		w.next++
		w.j.settleEarly(w.u, t, w.slab, w.held)
	}
	if w.filed < w.next {
		h := &w.u.holds
		h.mu.Lock()
		h.fileQueued(w.ts[w.filed:w.next])
		h.mu.Unlock()
		w.filed = w.next
	}
	n := copy(p, w.buf[w.off:])
	w.off += n
	if w.off == len(w.buf) {
		w.buf, w.off = w.buf[:0], 0
		if w.eof {
			return n, io.EOF
		}
	} else if w.off > cap(w.buf)/2 {
		w.buf = w.buf[:copy(w.buf, w.buf[w.off:])]
		w.off = 0
	}
	return n, nil
}

var errCopyClosed = errors.New("session: the COPY stream was read after the COPY ended")

// close ends the stream: a Read still running finishes first, and none
// starts after. It returns the encoding error, if any.
func (w *copyWriter) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return w.err
}

// row appends one object's tuple: the field count, then each value as its
// length and bytes (-1 for NULL).
func (w *copyWriter) row(buf []byte, base unsafe.Pointer) (_ []byte, err error) {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(w.cols)))
	for i := range w.cols {
		c := &w.cols[i]
		p := fieldPtr(base, c.f)
		switch c.enc {
		case encInt8:
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64(readInt(p, c.f.Type.Size())))
		case encInt4:
			v := readInt(p, c.f.Type.Size())
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, w.valueError(c, fmt.Errorf("%d is out of range for int4", v))
			}
			buf = binary.BigEndian.AppendUint32(buf, 4)
			buf = binary.BigEndian.AppendUint32(buf, uint32(int32(v)))
		case encInt2:
			v := readInt(p, c.f.Type.Size())
			if v < math.MinInt16 || v > math.MaxInt16 {
				return nil, w.valueError(c, fmt.Errorf("%d is out of range for int2", v))
			}
			buf = binary.BigEndian.AppendUint32(buf, 2)
			buf = binary.BigEndian.AppendUint16(buf, uint16(int16(v)))
		case encFloat8:
			f := 0.0
			if c.f.Type.Kind() == reflect.Float32 {
				f = float64(*(*float32)(p))
			} else {
				f = *(*float64)(p)
			}
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(f))
		case encFloat4:
			buf = binary.BigEndian.AppendUint32(buf, 4)
			buf = binary.BigEndian.AppendUint32(buf, math.Float32bits(*(*float32)(p)))
		case encBool:
			var b byte
			if *(*bool)(p) {
				b = 1
			}
			buf = binary.BigEndian.AppendUint32(buf, 1)
			buf = append(buf, b)
		case encText:
			if buf, err = appendCopyBytes(buf, *(*string)(p)); err != nil {
				return nil, w.valueError(c, err)
			}
		case encBytea:
			b := *(*[]byte)(p)
			if b == nil {
				buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: NULL
				continue
			}
			if buf, err = appendCopyBytes(buf, b); err != nil {
				return nil, w.valueError(c, err)
			}
		case encTimestamptz:
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64(microsSinceY2K(*(*time.Time)(p))))
		case encTimestamp:
			t := *(*time.Time)(p)
			if t.Location() != time.UTC { // its wall clock, read as UTC
				t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
			}
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64(microsSinceY2K(t)))
		default:
			if buf, err = w.encodeAny(buf, c, fieldValue(base, c.f)); err != nil {
				return nil, err
			}
		}
	}
	return buf, nil
}

// encodeAny appends v through pgx's type map, as pgx's CopyFrom encodes a
// value: binary, and a value the column's codec cannot take (a string for
// a uuid column, say) parsed as the column's text form first.
func (w *copyWriter) encodeAny(buf []byte, c *copyCol, v any) ([]byte, error) {
	at := len(buf)
	buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // NULL unless a value follows
	out, err := w.tm.Encode(c.oid, pgtype.BinaryFormatCode, v, buf)
	if err != nil {
		var err2 error
		if out, err2 = w.encodeViaText(buf, c.oid, v); err2 != nil {
			return nil, w.valueError(c, err)
		}
	}
	if out == nil {
		return buf, nil
	}
	if int64(len(out)-at-4) > math.MaxInt32 {
		return nil, w.valueError(c, errCopyFieldTooBig)
	}
	binary.BigEndian.PutUint32(out[at:], uint32(len(out)-at-4))
	return out, nil
}

// encodeViaText is pgx's CopyFrom fallback: the value's text form (the
// string itself, or the value encoded as text) scanned as the column's
// type and encoded from that.
func (w *copyWriter) encodeViaText(buf []byte, oid uint32, v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		text, err := w.tm.Encode(oid, pgtype.TextFormatCode, v, nil)
		if err != nil {
			return nil, err
		}
		s = string(text)
	}
	var val any
	if err := w.tm.Scan(oid, pgtype.TextFormatCode, []byte(s), &val); err != nil {
		return nil, err
	}
	return w.tm.Encode(oid, pgtype.BinaryFormatCode, val, buf)
}

// valueError names the object, field and column a value failed in.
func (w *copyWriter) valueError(c *copyCol, err error) error {
	return fmt.Errorf("object %d of the COPY, field %s (column %s): %w", w.next+1, c.f.Name, c.f.Column, err)
}

var errCopyFieldTooBig = errors.New("a value over 2 GiB does not fit a COPY field")

// appendCopyBytes appends v as a field: its length, then its bytes.
func appendCopyBytes[T string | []byte](buf []byte, v T) ([]byte, error) {
	if int64(len(v)) > math.MaxInt32 {
		return nil, errCopyFieldTooBig
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
	return append(buf, v...), nil
}

// readInt reads a signed integer of size bytes.
func readInt(p unsafe.Pointer, size uintptr) int64 {
	switch size {
	case 1:
		return int64(*(*int8)(p))
	case 2:
		return int64(*(*int16)(p))
	case 4:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

// microsSinceY2K is t as PostgreSQL's binary timestamps hold it:
// microseconds since 2000-01-01 00:00 UTC, truncated as pgx truncates.
func microsSinceY2K(t time.Time) int64 {
	const y2k = 946684800 * 1_000_000 // 2000-01-01 in microseconds since 1970
	return t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - y2k
}

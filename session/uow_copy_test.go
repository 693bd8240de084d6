package session_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/faultproxy"
	"github.com/streamcat/streamcat/session"
)

// copyCols is every column type the COPY flush writes itself, and some it
// leaves to pgx's type map (uuid from a string, numeric, arrays, jsonb,
// date, a named type with a Value method, pointers for NULLs).
const copyCols = `id int8 primary key, i2 int2, i4 int4, i8 int8, small int8, named int4,
	f4 float4, f8 float8, f48 float8, b bool, t text, vc varchar(40), bp char(6), ba bytea, ban bytea,
	tz timestamptz, ts timestamp, d date, u uuid, n numeric, arr int4[], j jsonb, valuer text, pt text, pn int8`

type level int32 // a named integer without methods: written directly

type loud string // a named string whose Value method changes what is written

func (l loud) Value() (driver.Value, error) { return strings.ToUpper(string(l)), nil }

type copyRow struct {
	_      struct{}       `table:"uow_copy_types"`
	ID     int64          `db:"id,pk"`
	I2     int16          `db:"i2"`
	I4     int32          `db:"i4"`
	I8     int64          `db:"i8"`
	Small  int8           `db:"small"`
	Named  level          `db:"named"`
	F4     float32        `db:"f4"`
	F8     float64        `db:"f8"`
	F48    float32        `db:"f48"`
	B      bool           `db:"b"`
	T      string         `db:"t"`
	VC     string         `db:"vc"`
	BP     string         `db:"bp"`
	BA     []byte         `db:"ba"`
	BAN    []byte         `db:"ban"`
	TZ     time.Time      `db:"tz"`
	TS     time.Time      `db:"ts"`
	D      time.Time      `db:"d"`
	U      string         `db:"u"`
	N      float64        `db:"n"`
	Arr    []int32        `db:"arr"`
	J      map[string]any `db:"j"`
	Valuer loud           `db:"valuer"`
	PT     *string        `db:"pt"`
	PN     *int64         `db:"pn"`
}

func copyRows(n int) []*copyRow {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if berlin == nil {
		berlin = time.FixedZone("CET", 3600)
	}
	out := make([]*copyRow, n)
	for i := range out {
		s := fmt.Sprintf("text %d, with \"quotes\", a tab\tand ünïcode", i)
		r := &copyRow{
			ID: int64(i + 1), I2: int16(-i), I4: int32(i * 1000), I8: int64(i) << 40, Small: int8(i % 100), Named: level(i),
			F4: float32(i) / 3, F8: float64(i) / 7, F48: float32(i) + 0.25, B: i%2 == 0,
			T: s, VC: fmt.Sprintf("vc%d", i), BP: "ab",
			BA: []byte{0, byte(i), 0xff}, BAN: nil,
			TZ: time.Date(1999, 12, 31, 23, 59, 59, 123_456_789, berlin).Add(time.Duration(i) * time.Hour),
			TS: time.Date(2024, 2, 29, 12, 0, 0, 999, berlin).Add(time.Duration(i) * time.Minute),
			D:  time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i),
			U:  fmt.Sprintf("00000000-0000-0000-0000-%012d", i), N: float64(i) + 0.5,
			Arr: []int32{int32(i), -1}, J: map[string]any{"i": float64(i)}, Valuer: loud(fmt.Sprintf("v%d", i)),
		}
		if i%3 == 0 {
			r.PT, r.PN = &s, &r.I8
		}
		if i == 5 {
			r.TZ = time.Date(1850, 1, 1, 0, 0, 0, 500, time.UTC) // before 1970 and 2000
			r.BA = []byte{}                                      // empty, not NULL
		}
		out[i] = r
	}
	return out
}

func copyTables(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, "drop table if exists uow_copy_types, uow_copy_twin; create table uow_copy_types ("+copyCols+"); create table uow_copy_twin ("+copyCols+")")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table if exists uow_copy_types, uow_copy_twin") })
}

// tableDigest is an md5 over a table's rows in key order, in their text
// form.
func tableDigest(t *testing.T, pool *pgxpool.Pool, table string) string {
	t.Helper()
	return scalar[string](t, pool, "select md5(string_agg(x::text, '|' order by x.id)) from "+pgx.Identifier{table}.Sanitize()+" x")
}

// The COPY flush writes what pgx's own CopyFrom writes for the same values,
// for the types it encodes itself and for those it leaves to pgx.
func TestUnitOfWork_CopyWritesWhatPgxCopyFromWrites(t *testing.T) {
	m, log, pool := uowFixture(t)
	copyTables(t, pool)
	ctx := context.Background()
	rows := copyRows(300)

	s := uowSession(t, m)
	for _, r := range rows {
		require.NoError(t, s.Add(r))
	}
	log.reset()
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, []string{`COPY "uow_copy_types"`}, log.matching("copy"), "one COPY, traced")
	assert.Empty(t, s.New())
	assert.Empty(t, s.Dirty(), "the snapshots are the rows as written")

	cols := []string{"id", "i2", "i4", "i8", "small", "named", "f4", "f8", "f48", "b", "t", "vc", "bp", "ba", "ban", "tz", "ts", "d", "u", "n", "arr", "j", "valuer", "pt", "pn"}
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"uow_copy_twin"}, cols, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		return []any{r.ID, r.I2, r.I4, r.I8, r.Small, r.Named, r.F4, r.F8, r.F48, r.B, r.T, r.VC, r.BP, r.BA, r.BAN,
			r.TZ, r.TS, r.D, r.U, r.N, r.Arr, r.J, r.Valuer, r.PT, r.PN}, nil
	}))
	require.NoError(t, err)
	require.Equal(t, int64(len(rows)), n)

	assert.Equal(t, tableDigest(t, pool, "uow_copy_twin"), tableDigest(t, pool, "uow_copy_types"))
	assert.Equal(t, "V7", scalar[string](t, pool, "select valuer from uow_copy_types where id = 8"), "the Value method was used")
	assert.Equal(t, 100, scalar[int](t, pool, "select count(*) from uow_copy_types where pt is not null"))
	assert.Equal(t, 1, scalar[int](t, pool, "select count(*) from uow_copy_types where ba = ''::bytea"), "an empty []byte is not NULL")

	// the objects are persistent and found by key without SQL
	log.reset()
	got, err := session.Get[copyRow](ctx, s, int64(42))
	require.NoError(t, err)
	assert.Same(t, rows[41], got)
	assert.Zero(t, log.count())
}

// A value the column cannot hold fails the flush with an error naming the
// field and the column; nothing is written, the objects stay pending, and
// the flush after the fix writes them all.
func TestUnitOfWork_CopyValueOutOfRange(t *testing.T) {
	m, _, pool := uowFixture(t)
	copyTables(t, pool)
	ctx := context.Background()
	rows := copyRows(200)
	rows[150].I8 = 1 << 40 // fine for i8
	bad := rows[170]

	type narrow struct { // the same table, with a Go type wider than int2
		_  struct{} `table:"uow_copy_types"`
		ID int64    `db:"id,pk"`
		I2 int64    `db:"i2"`
	}
	s := uowSession(t, m)
	objs := make([]*narrow, len(rows))
	for i, r := range rows {
		objs[i] = &narrow{ID: r.ID, I2: int64(r.I2)}
		require.NoError(t, s.Add(objs[i]))
	}
	objs[170].I2 = 40_000
	err := s.Flush(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field I2 (column i2)")
	assert.Contains(t, err.Error(), "40000 is out of range for int2")
	assert.Zero(t, scalar[int](t, pool, "select count(*) from uow_copy_types"), "nothing written")
	assert.Len(t, s.New(), len(objs), "everything still pending")
	s.NoAutoflush(func() {
		got, err := session.Get[narrow](ctx, s, int64(3))
		require.NoError(t, err)
		assert.Nil(t, got, "not in the identity map (the early filing was undone), and no row")
	})

	objs[170].I2 = int64(bad.I2)
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, len(objs), scalar[int](t, pool, "select count(*) from uow_copy_types"))
	assert.Empty(t, s.New())
}

// The link fails while the COPY's rows are on their way to the server (a
// fault a healthy server cannot produce on demand: a proxy cuts it). The
// flush fails, nothing is written, and the next flush writes everything.
func TestUnitOfWork_CopySurvivesALinkCut(t *testing.T) {
	pool, proxy, s := proxiedUowSession(t)
	copyTables(t, pool)
	ctx := context.Background()
	rows := copyRows(5_000) // about 1.3 MB of COPY data
	for _, r := range rows {
		require.NoError(t, s.Add(r))
	}
	proxy.CutAfter(faultproxy.ToServer, 400_000)
	require.Error(t, s.Flush(ctx))
	assert.Len(t, s.New(), len(rows), "everything still pending")
	assert.Zero(t, scalar[int](t, pool, "select count(*) from uow_copy_types"))

	require.NoError(t, s.Flush(ctx), "the next flush, on a new connection, writes everything")
	assert.Empty(t, s.New())
	assert.Equal(t, len(rows), scalar[int](t, pool, "select count(*) from uow_copy_types"))
}

// The server stops reading in the middle of the COPY (the link stalls);
// the caller's deadline ends the flush.
func TestUnitOfWork_CopyEndsWhenItsContextDoes(t *testing.T) {
	pool, proxy, s := proxiedUowSession(t)
	copyTables(t, pool)
	ctx := context.Background()
	rows := copyRows(20_000) // more than the socket buffers hold
	for _, r := range rows {
		require.NoError(t, s.Add(r))
	}
	flushCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	proxy.Stall(faultproxy.ToServer)
	err := s.Flush(flushCtx)
	proxy.Resume()
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "%v", err)
	assert.Len(t, s.New(), len(rows))

	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, len(rows), scalar[int](t, pool, "select count(*) from uow_copy_types"))
}

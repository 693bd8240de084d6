package bench

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

// peerItem is bench/peers' Item (the struct every peer library reads): the
// same field types, jsonb kept as its bytes. (Item's Tags is a []string with
// a Scanner; its heap is a []string's.)
type peerItem struct {
	ID        int64          `db:"id"`
	Name      *string        `db:"name"`
	Amount    pgtype.Numeric `db:"amount"`
	CreatedAt time.Time      `db:"created_at"`
	Active    bool           `db:"active"`
	Tags      []string       `db:"tags"`
	Attrs     []byte         `db:"attrs"`
	Ref       pgtype.UUID    `db:"ref"`
}

// heldColumn is one column's share of the two held forms, in bytes per row.
type heldColumn struct {
	name   string
	format int16   // the wire format the result holds it in
	wire   float64 // the value bytes as sent (0 for NULL)
	text   float64 // the same values in PostgreSQL's text form
	nulls  float64 // the share of rows where it is NULL
	inline float64 // its field in peerItem, padding included
	heap   float64 // what the field points to on the heap (size classes included)
}

// heldLayout is where a held result's bytes and the decoded structs' bytes
// go, per row.
type heldLayout struct {
	rows    int
	cols    []heldColumn
	held    float64 // live heap of the held, undecoded result
	offsets float64 // 4-byte end offsets: 4 per value
	structs float64 // live heap of []peerItem read by a pgx Scan loop
	slack   float64 // the []peerItem's unused capacity
}

func (l heldLayout) wire() (sum float64) {
	for _, c := range l.cols {
		sum += c.wire
	}
	return sum
}

// smallest is the values' bytes with each column in the smaller of its
// two wire forms.
func (l heldLayout) smallest() (sum float64) {
	for _, c := range l.cols {
		sum += min(c.wire, c.text)
	}
	return sum
}

// blocks is what the held result keeps besides values and offsets: block
// headers, the block list, the result's own parts and any unused room.
func (l heldLayout) blocks() float64 { return l.held - l.wire() - l.offsets }

// measureHeldLayout reads sql (the peers' query) twice: held undecoded by
// session.Execute, and as []peerItem by the peers' baseline (a pgx Scan
// loop appending to a slice). Each side's live heap is HeapAlloc after a GC
// with it alive minus before. The result is then read for its value sizes,
// and the structs are taken apart field by field: zeroing one pointer-like
// field in every row and collecting again frees exactly what that field
// pointed to.
func measureHeldLayout(ctx context.Context, pool *pgxpool.Pool, sql string) (heldLayout, error) {
	var l heldLayout

	s := session.NewMaker(pool).New()
	defer s.Close(ctx)
	base := liveHeap()
	res, err := s.Execute(ctx, sql)
	if err != nil {
		return l, err
	}
	l.rows = res.Len()
	n := float64(l.rows)
	l.held = float64(liveHeap()-base) / n
	cols := res.AsRowView().ColumnTypes()
	l.offsets = 4 * float64(len(cols))
	for _, c := range cols {
		l.cols = append(l.cols, heldColumn{name: c.Name, format: c.Format})
	}
	for vals, err := range buffered.Raw(res).Rows() {
		if err != nil {
			return l, err
		}
		for i, v := range vals {
			l.cols[i].wire += float64(len(v))
			if v == nil {
				l.cols[i].nulls++
			}
		}
	}
	res.Close()
	for i := range l.cols {
		l.cols[i].wire /= n
		l.cols[i].nulls /= n
	}
	// the text form of every value, as the server would send it when asked
	// for text (NULL: none): sql is "select COLUMNS from TABLE"
	list, from, ok := strings.Cut(strings.TrimPrefix(sql, "select "), " from ")
	if !ok {
		return l, fmt.Errorf("not a plain select: %s", sql)
	}
	var sums []string
	for c := range strings.SplitSeq(list, ",") {
		// format's %s is the type's output function, what text mode sends
		// (a cast to text is not: true::text is 'true', the wire's 't')
		sums = append(sums, "coalesce(sum(octet_length(format('%s', "+strings.TrimSpace(c)+"))), 0)::float8")
	}
	texts := make([]any, len(l.cols))
	for i := range l.cols {
		texts[i] = &l.cols[i].text
	}
	if err := pool.QueryRow(ctx, "select "+strings.Join(sums, ", ")+" from "+from).Scan(texts...); err != nil {
		return l, err
	}
	for i := range l.cols {
		l.cols[i].text /= n
	}

	base = liveHeap()
	items, err := scanPeerItems(ctx, pool, sql)
	if err != nil {
		return l, err
	}
	if len(items) != l.rows {
		return l, fmt.Errorf("pgx read %d rows, Execute %d", len(items), l.rows)
	}
	l.structs = float64(liveHeap()-base) / n
	size := unsafe.Sizeof(peerItem{})
	l.slack = float64(uintptr(cap(items)-len(items))*size) / n
	t := reflect.TypeFor[peerItem]()
	for i := range t.NumField() {
		end := size
		if i+1 < t.NumField() {
			end = t.Field(i + 1).Offset
		}
		c := &l.cols[i]
		if !strings.EqualFold(t.Field(i).Tag.Get("db"), c.name) {
			return l, fmt.Errorf("field %s is not column %s", t.Field(i).Name, c.name)
		}
		c.inline = float64(end - t.Field(i).Offset)
		before := liveHeap()
		for k := range items {
			f := reflect.ValueOf(&items[k]).Elem().Field(i)
			f.SetZero()
		}
		c.heap = float64(before-liveHeap()) / n
	}
	runtime.KeepAlive(items)
	return l, nil
}

// scanPeerItems is bench/peers' baseline: pool.Query and a hand-written
// Scan into each field, appended to a slice.
func scanPeerItems(ctx context.Context, pool *pgxpool.Pool, sql string) ([]peerItem, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []peerItem
	for rows.Next() {
		var it peerItem
		if err := rows.Scan(&it.ID, &it.Name, &it.Amount, &it.CreatedAt, &it.Active, &it.Tags, &it.Attrs, &it.Ref); err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// table renders l as the Markdown table bench/README.md shows.
func (l heldLayout) table() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d rows; bytes per row\n\n", l.rows)
	sb.WriteString("| column | held format | wire bytes (NULL share) | text form | struct field | struct heap | struct total |\n|---|---|---|---|---|---|---|\n")
	var inline, heap float64
	for _, c := range l.cols {
		format := "binary"
		if c.format == pgx.TextFormatCode {
			format = "text"
		}
		fmt.Fprintf(&sb, "| %s | %s | %.1f (%.0f%%) | %.1f | %.0f | %.1f | %.1f |\n", c.name, format, c.wire, 100*c.nulls, c.text, c.inline, c.heap, c.inline+c.heap)
		inline += c.inline
		heap += c.heap
	}
	fmt.Fprintf(&sb, "| **values** | | **%.1f** | (smaller form of each: %.1f) | %.0f | %.1f | **%.1f** |\n", l.wire(), l.smallest(), inline, heap, inline+heap)
	fmt.Fprintf(&sb, "| 4-byte end offsets (%d columns) | | %.1f | | | | |\n", len(l.cols), l.offsets)
	fmt.Fprintf(&sb, "| blocks, result, unused room / slice slack | | %.1f | | | | %.1f |\n", l.blocks(), l.slack)
	fmt.Fprintf(&sb, "| **live heap** | | **%.1f** | | | | **%.1f** |\n", l.held, l.structs)
	fmt.Fprintf(&sb, "\nheld / structs = %.3f; values alone / structs = %.3f (%.3f in the smaller form of each column); the 0.5 target is %.1f B/row\n",
		l.held/l.structs, l.wire()/l.structs, l.smallest()/l.structs, l.structs/2)
	return sb.String()
}

// BenchmarkHeldLayout prints where the bytes of a held Execute result and
// of the peers' decoded structs go, per column, for the peers' query on
// wide (see "Held results" in README.md), and reports the totals per row.
// The figures are heap bytes: load does not move them, one op is enough.
func BenchmarkHeldLayout(b *testing.B) {
	if benchPool == nil {
		b.Skip("no benchmark cluster (TestMain starts one only with -bench)")
	}
	sql := wide.query(wide.name)
	var l heldLayout
	for b.Loop() {
		var err error
		if l, err = measureHeldLayout(context.Background(), benchPool, sql); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("held Execute result vs []peerItem (pgx Scan loop), %s\n%s", sql, l.table())
	b.ReportMetric(l.held, "B/row-held")
	b.ReportMetric(l.structs, "B/row-structs")
	b.ReportMetric(l.wire(), "B/row-values")
	b.ReportMetric(l.held/l.structs, "held/structs")
	b.ReportMetric(l.wire()/l.structs, "values/structs")
	b.ReportMetric(l.smallest()/l.structs, "smallest-values/structs")
}

// TestHeldLayout_Accounts checks the accounting on a small table: every
// row's values are counted, the columns' struct costs add up to the
// structs' heap, and the held result's bytes cover its values and offsets.
func TestHeldLayout_Accounts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	pool := testPool(t)
	// more rows than shapeTable's, so that the heap's other users (the
	// pool's connections, the caches) stay well under a byte per row
	const rows = 20_000
	table := "held_layout"
	if err := wide.create(context.Background(), pool, table, rows); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table if exists "+table) })
	l, err := measureHeldLayout(context.Background(), pool, wide.query(table))
	if err != nil {
		t.Fatal(err)
	}
	if l.rows != rows {
		t.Fatalf("rows = %d, want %d", l.rows, rows)
	}
	var sum float64
	for _, c := range l.cols {
		sum += c.inline + c.heap
	}
	sum += l.slack
	if d := sum - l.structs; d < -2 || d > 2 {
		t.Errorf("the columns add up to %.1f B/row, the structs hold %.1f", sum, l.structs)
	}
	if l.blocks() < -2 {
		t.Errorf("held %.1f B/row is less than its values and offsets (%.1f + %.1f)", l.held, l.wire(), l.offsets)
	}
	if got := l.cols[1].nulls; got < 0.09 || got > 0.11 {
		t.Errorf("name: NULL in %.3f of rows, want 0.10", got)
	}
	if got := l.cols[0].wire; got != 8 {
		t.Errorf("id: %.1f wire bytes per row, want 8 (binary int8)", got)
	}
	if got, want := l.cols[4].text, 1.0; got != want { // "t" or "f"
		t.Errorf("active: %.1f text bytes per row, want %.0f", got, want)
	}
	t.Log("\n" + l.table())
}

package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Item is the row every library reads, one per row of the `wide` table
// (`select id, name, amount, created_at, active, tags, attrs, ref`). Every
// field has a type that all seven libraries can fill without an adapter of
// their own: exact numeric and uuid as pgtype values (sql.Scanners too),
// the nullable text as a pointer, jsonb as its bytes, and text[] as Tags,
// which pgx fills through its array codec and database/sql libraries
// through Tags.Scan.
type Item struct {
	ID        int64          `db:"id" gorm:"column:id" bun:"id"`
	Name      *string        `db:"name" gorm:"column:name" bun:"name"`
	Amount    pgtype.Numeric `db:"amount" gorm:"column:amount" bun:"amount"`
	CreatedAt time.Time      `db:"created_at" gorm:"column:created_at" bun:"created_at"`
	Active    bool           `db:"active" gorm:"column:active" bun:"active"`
	Tags      Tags           `db:"tags" gorm:"column:tags;type:text[]" bun:"tags"`
	Attrs     []byte         `db:"attrs" gorm:"column:attrs" bun:"attrs"`
	Ref       pgtype.UUID    `db:"ref" gorm:"column:ref" bun:"ref"`
}

// Tags is a text[] column, decoded by pgx's own array codec whichever
// library reads it. database/sql libraries (sqlx, GORM, bun) can only fill
// a field through sql.Scanner; pgx, scany and streamcat then call the same
// Scanner too (pgx prefers a field's Scanner to its underlying []string),
// handing it the binary form where the others hand it the text form.
type Tags []string

// tagsMap decodes Tags. A child process reads on one goroutine, so one map
// is enough; it memoises the two plans.
var tagsMap = pgtype.NewMap()

// Scan implements sql.Scanner for a text[] in either wire form: text starts
// with '{', binary with the big-endian dimension count (0 or 1 here).
func (t *Tags) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*t = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("Tags.Scan: cannot scan %T", src)
	}
	format := int16(pgtype.BinaryFormatCode)
	if len(b) > 0 && b[0] == '{' {
		format = pgtype.TextFormatCode
	}
	return tagsMap.Scan(pgtype.TextArrayOID, format, b, (*[]string)(t))
}

// digest is an order-sensitive FNV-1a hash over the full content of every
// row: two libraries agree only when every field of every row is equal.
type digest uint64

func newDigest() digest { return 14695981039346656037 }

func (d *digest) byte1(b byte) { *d = (*d ^ digest(b)) * 1099511628211 }

func (d *digest) u64(x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	d.bytes(b[:])
}

func (d *digest) bytes(b []byte) {
	h := *d
	for _, c := range b {
		h = (h ^ digest(c)) * 1099511628211
	}
	*d = h
}

func (d *digest) str(s string) {
	d.u64(uint64(len(s)))
	h := *d
	for i := 0; i < len(s); i++ {
		h = (h ^ digest(s[i])) * 1099511628211
	}
	*d = h
}

func (d *digest) flag(b bool) {
	if b {
		d.byte1(1)
	} else {
		d.byte1(0)
	}
}

// add folds one row into d. The numeric is folded as its coefficient and
// exponent, so a library that decoded 1.50 as 150e-2 and another as 15e-1
// would disagree: that is a real difference in what the caller holds.
func (d *digest) add(it *Item) {
	d.u64(uint64(it.ID))
	d.flag(it.Name != nil)
	if it.Name != nil {
		d.str(*it.Name)
	}
	a := it.Amount
	d.flag(a.Valid)
	d.flag(a.NaN)
	d.u64(uint64(int64(a.InfinityModifier)))
	if a.Int != nil {
		d.flag(a.Int.Sign() < 0)
		for _, w := range a.Int.Bits() {
			d.u64(uint64(w))
		}
	}
	d.u64(uint64(int64(a.Exp)))
	d.u64(uint64(it.CreatedAt.UnixNano()))
	d.flag(it.Active)
	d.u64(uint64(len(it.Tags)))
	for _, s := range it.Tags {
		d.str(s)
	}
	d.u64(uint64(len(it.Attrs)))
	d.bytes(it.Attrs)
	d.flag(it.Ref.Valid)
	d.bytes(it.Ref.Bytes[:])
	d.u64(math.MaxUint64) // row separator
}

// digestAll folds items in order.
func digestAll(items []Item) digest {
	d := newDigest()
	for i := range items {
		d.add(&items[i])
	}
	return d
}

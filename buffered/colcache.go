package buffered

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Small results pay for their set-up as much as for their rows: a type map,
// the column description, the struct plan of each view. None of it depends
// on the rows, only on the row description, so results whose columns are
// all of pgx's built-in types share one read-only description per distinct
// row description, and one struct plan per Go type on it.

// sharedMap is the type map of every shared description. A pgtype.Map is
// read-only while nothing is registered on it once its Go-type index is
// built (pgx's own default map is shared by every connection the same way):
// it is built here, and no type is ever registered on it afterwards.
var sharedMap = func() *pgtype.Map {
	m := pgtype.NewMap()
	m.TypeForValue(int32(0)) // builds the Go-type index now, not lazily under concurrent use
	return m
}()

// maxSharedDescs bounds the shared descriptions. A program with more
// distinct row descriptions than this empties the cache and starts again:
// correct, only slower, and memory stays bounded.
const maxSharedDescs = 512

// descCache maps a hash of a row description to its shared columns.
var descCache struct {
	m sync.Map // uint64 -> *columns
	n atomic.Int64
}

// sharedColumns returns the shared description of fields, or nil when it
// cannot be shared: a column of a type pgx does not know by default (an
// enum or composite registered on the connection), or a hash collision
// with another description.
func sharedColumns(fields []pgconn.FieldDescription) *columns {
	h := hashFields(fields)
	if c, ok := descCache.m.Load(h); ok {
		c := c.(*columns)
		if slices.Equal(c.fields, fields) {
			return c
		}
		return nil
	}
	for i := range fields {
		if _, ok := sharedMap.TypeForOID(fields[i].DataTypeOID); !ok {
			return nil
		}
	}
	c := describe(fields, sharedMap, nil)
	c.shared = true
	c.all = allColumns(len(fields))
	c.allKeys = c.keys(c.all)
	c.rowFork = rowFork(c.all, c.allKeys)
	if descCache.n.Add(1) > maxSharedDescs {
		descCache.m.Clear()
		descCache.n.Store(1)
	}
	if prev, loaded := descCache.m.LoadOrStore(h, c); loaded {
		descCache.n.Add(-1)
		if p := prev.(*columns); slices.Equal(p.fields, fields) {
			return p
		}
		return nil
	}
	return c
}

// hashFields is FNV-1a over everything a description holds. It allocates
// nothing: it runs for every result.
func hashFields(fields []pgconn.FieldDescription) uint64 {
	h := uint64(14695981039346656037)
	mix := func(x uint64) {
		for range 8 {
			h = (h ^ (x & 0xff)) * 1099511628211
			x >>= 8
		}
	}
	mix(uint64(len(fields)))
	for i := range fields {
		f := &fields[i]
		for j := 0; j < len(f.Name); j++ {
			h = (h ^ uint64(f.Name[j])) * 1099511628211
		}
		mix(uint64(len(f.Name)))
		mix(uint64(f.TableOID)<<16 | uint64(f.TableAttributeNumber))
		mix(uint64(f.DataTypeOID)<<32 | uint64(uint32(f.TypeModifier)))
		mix(uint64(uint16(f.DataTypeSize))<<16 | uint64(uint16(f.Format)))
	}
	return h
}

// isAll reports whether p is every column of c in order: the projection
// whose plans a shared description keeps.
func (c *columns) isAll(p projection) bool {
	if len(p) != len(c.list) {
		return false
	}
	for i, j := range p {
		if i != j {
			return false
		}
	}
	return true
}

// The largest first block a hint asks for.
const (
	maxHintRows  = 64
	maxHintBytes = 4 << 10
)

// allProjection is every column of c in order.
func (c *columns) allProjection() projection {
	if c.all != nil {
		return c.all
	}
	return allColumns(len(c.list))
}

// firstBlockSize is the rows and bytes a result's first block starts
// with: the defaults, or what the last result with this (shared)
// description needed, so that a one-row answer gets a block its size and
// a ten-row one does not grow its block. It is capped at a few KB: one
// large result must not make every small one after it large.
func (c *columns) firstBlockSize() (rows, dataBytes int) {
	if h := c.firstBlock.Load(); h != 0 {
		return int(h >> 32), int(uint32(h))
	}
	return firstBlockRows, firstBlockBytes
}

// noteFirstBlock records the size a result's only block ended with, for
// the next result with this description.
func (c *columns) noteFirstBlock(b *Block) {
	if !c.shared {
		return
	}
	rows := min(max(b.nrow, 1), maxHintRows)
	n := min(max(len(b.data)+len(b.data)/4, 8), maxHintBytes) // slack for values of varying length
	c.firstBlock.Store(uint64(rows)<<32 | uint64(n))
}

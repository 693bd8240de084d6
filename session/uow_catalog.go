package session

import (
	"context"
	"fmt"
	"sync"
)

// tableInfo is what the flush needs from pg_catalog about one table: its
// oid and the foreign keys it has.
type tableInfo struct {
	oid uint32
	fks []foreignKey
}

// foreignKey is one FOREIGN KEY constraint: columns of this table that
// reference refCols of the table refOID.
type foreignKey struct {
	cols    []string
	refOID  uint32
	refCols []string
}

// catalog caches tableInfo per table name for a Maker's sessions: read once
// per table, on the first flush that writes it. A table altered later keeps
// its cached foreign keys until the Maker is made anew.
type catalog struct {
	mu     sync.Mutex
	tables map[string]*tableInfo // by quoted table name
}

// catalogSQL lists a table's oid with one row per foreign key (NULLs when it
// has none): the key's columns, the referenced table and its columns, in
// key order.
const catalogSQL = `select c.oid::int8, f.confrelid::int8,
  array(select a.attname::text from unnest(f.conkey) with ordinality k(n, i)
        join pg_attribute a on a.attrelid = f.conrelid and a.attnum = k.n order by k.i),
  array(select a.attname::text from unnest(f.confkey) with ordinality k(n, i)
        join pg_attribute a on a.attrelid = f.confrelid and a.attnum = k.n order by k.i)
from pg_class c left join pg_constraint f on f.conrelid = c.oid and f.contype = 'f'
where c.oid = to_regclass($1)`

// table returns the catalog entry of a table, reading it on q when it is
// not cached. quoted is the sanitized table name.
func (c *catalog) table(ctx context.Context, q flushConn, quoted string) (*tableInfo, error) {
	c.mu.Lock()
	ti := c.tables[quoted]
	c.mu.Unlock()
	if ti != nil {
		return ti, nil
	}
	rows, err := q.Query(ctx, catalogSQL, quoted)
	if err != nil {
		return nil, fmt.Errorf("reading the foreign keys of %s from pg_catalog: %w", quoted, err)
	}
	var found bool
	ti = &tableInfo{}
	for rows.Next() {
		var oid int64
		var ref *int64
		var cols, refCols []string
		if err := rows.Scan(&oid, &ref, &cols, &refCols); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the foreign keys of %s from pg_catalog: %w", quoted, err)
		}
		found, ti.oid = true, uint32(oid)
		if ref != nil {
			ti.fks = append(ti.fks, foreignKey{cols: cols, refOID: uint32(*ref), refCols: refCols})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the foreign keys of %s from pg_catalog: %w", quoted, err)
	}
	if !found {
		return nil, fmt.Errorf("table %s does not exist (check the type's TableName or `table` tag, and the search_path)", quoted)
	}
	c.mu.Lock()
	if c.tables == nil {
		c.tables = map[string]*tableInfo{}
	}
	c.tables[quoted] = ti
	c.mu.Unlock()
	return ti, nil
}

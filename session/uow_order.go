package session

import (
	"cmp"
	"fmt"
	"slices"
	"unsafe"

	"github.com/streamcat/streamcat/internal/mapping"
)

// sortTracked orders objects as they were added, then by key for the rest.
func sortTracked(ts []*tracked) {
	slices.SortStableFunc(ts, func(a, b *tracked) int { return cmp.Compare(a.seq, b.seq) })
}

// rankTables orders the mapped types of a flush so that a table comes after
// every table it references (foreign keys from pg_catalog, and ref fields):
// inserts and updates run in this order, deletes in reverse. Types in a
// cycle keep the order in which they were first seen.
func rankTables(types []*mapping.Type, info map[*mapping.Type]*tableInfo) map[*mapping.Type]int {
	byOID := map[uint32][]*mapping.Type{}
	for _, m := range types {
		byOID[info[m].oid] = append(byOID[info[m].oid], m)
	}
	deps := map[*mapping.Type][]*mapping.Type{} // m -> the types it references
	for _, m := range types {
		for _, fk := range info[m].fks {
			for _, parent := range byOID[fk.refOID] {
				if parent != m {
					deps[m] = append(deps[m], parent)
				}
			}
		}
		for _, r := range m.Refs {
			parent := mapping.For(r.Target)
			if parent != m && info[parent] != nil {
				deps[m] = append(deps[m], parent)
			}
		}
	}
	rank := map[*mapping.Type]int{}
	visiting := map[*mapping.Type]bool{}
	var visit func(m *mapping.Type)
	visit = func(m *mapping.Type) {
		if _, done := rank[m]; done || visiting[m] {
			return // done, or a cycle: leave the order as it is
		}
		visiting[m] = true
		for _, d := range deps[m] {
			visit(d)
		}
		visiting[m] = false
		rank[m] = len(rank)
	}
	for _, m := range types {
		visit(m)
	}
	return rank
}

// levels orders the pending objects of one table that depend on one
// another (a self-referential table: a ref field to an object of the same
// table, or a foreign key whose value is the key of another pending
// object): level 0 references none of the others, level n only objects of
// lower levels. A cycle is an error: those rows cannot be inserted one
// after the other.
func levels(ts []*tracked, ti *tableInfo, held *heldSet) ([][]*tracked, error) {
	if len(ts) < 2 {
		return [][]*tracked{ts}, nil
	}
	m := ts[0].m()
	deps := selfDeps(ts, m, ti, held)
	if deps == nil {
		return [][]*tracked{ts}, nil
	}
	level := make(map[*tracked]int, len(ts))
	const visiting = -1
	var visit func(t *tracked) (int, error)
	visit = func(t *tracked) (int, error) {
		if l, ok := level[t]; ok {
			if l == visiting {
				return 0, fmt.Errorf("pending %s objects reference one another in a cycle: insert one of them first (flush it alone with the reference unset), then set the reference", m.Go)
			}
			return l, nil
		}
		level[t] = visiting
		l := 0
		for _, d := range deps[t] {
			dl, err := visit(d)
			if err != nil {
				return 0, err
			}
			l = max(l, dl+1)
		}
		level[t] = l
		return l, nil
	}
	var out [][]*tracked
	for _, t := range ts {
		l, err := visit(t)
		if err != nil {
			return nil, err
		}
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], t)
	}
	for _, lv := range out {
		sortTracked(lv)
	}
	return out, nil
}

// selfDeps finds, for each pending object of one table, the other pending
// objects of that table it must follow; nil when there are none.
func selfDeps(ts []*tracked, m *mapping.Type, ti *tableInfo, held *heldSet) map[*tracked][]*tracked {
	var deps map[*tracked][]*tracked
	add := func(child, parent *tracked) {
		if deps == nil {
			deps = map[*tracked][]*tracked{}
		}
		deps[child] = append(deps[child], parent)
	}
	for _, r := range m.Refs {
		if r.Target != m.Go {
			continue
		}
		for _, t := range ts {
			p := *(*unsafe.Pointer)(unsafe.Add(t.ptr, r.Offset))
			if parent := held.get(p); parent != nil && parent != t && parent.st == pending {
				add(t, parent)
			}
		}
	}
	// foreign keys of the table onto its own key, by value
	for _, fk := range ti.fks {
		if fk.refOID != ti.oid || !sameColumns(fk.refCols, m) {
			continue
		}
		byKey := make(map[identity]*tracked, len(ts))
		for _, t := range ts {
			if id, ok := keyOf(m, t.ptr); ok {
				byKey[id] = t
			}
		}
		cols := make([]int, len(fk.cols))
		for i, c := range fk.cols {
			if cols[i] = m.Field(c); cols[i] < 0 {
				cols = nil
				break
			}
		}
		if cols == nil {
			continue
		}
		for _, t := range ts {
			vals := make([]any, len(cols))
			null := false
			for i, c := range cols {
				f := &m.Fields[c]
				vals[i] = fieldValue(t.ptr, f)
				null = null || fieldIsZero(t.ptr, f)
			}
			if null {
				continue
			}
			if parent := byKey[makeIdentity(m.Go, vals)]; parent != nil && parent != t {
				add(t, parent)
			}
		}
	}
	return deps
}

// sameColumns reports whether cols are m's key columns, in key order.
func sameColumns(cols []string, m *mapping.Type) bool {
	if len(cols) != len(m.Keys) {
		return false
	}
	for i, k := range m.Keys {
		if m.Fields[k].Column != cols[i] {
			return false
		}
	}
	return true
}

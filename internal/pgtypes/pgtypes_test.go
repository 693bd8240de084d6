package pgtypes_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/pgtypes"
	"github.com/streamcat/streamcat/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// Load follows a composite's attributes, a domain's base and an array's
// element, one level per round trip, and reports each type once; an OID
// pg_type does not have comes back with Kind 0.
func TestLoadFollowsReferences(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		drop type if exists pgt_pair, pgt_mood cascade; drop domain if exists pgt_short;
		create type pgt_mood as enum ('sad', 'ok');
		create domain pgt_short as varchar(5);
		create type pgt_pair as (mood pgt_mood, label pgt_short, n int4)`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "drop type if exists pgt_pair, pgt_mood cascade; drop domain if exists pgt_short")
	})
	var pairArray uint32
	require.NoError(t, pool.QueryRow(ctx, "select 'pgt_pair[]'::regtype::oid").Scan(&pairArray))

	got := map[uint32]pgtypes.Type{}
	var asked []uint32
	want := func(oid uint32) (uint32, bool) {
		_, known := got[oid]
		builtin := oid < 10000 // the test's own types are user types
		if !known && !builtin {
			asked = append(asked, oid)
		}
		return oid, !known && !builtin
	}
	add := func(ty pgtypes.Type) {
		_, dup := got[ty.OID]
		assert.False(t, dup, "each type once: %d", ty.OID)
		got[ty.OID] = ty
	}
	const missing = 4_000_000_000
	require.NoError(t, pgtypes.Load(ctx, pool, []uint32{pairArray, pairArray, missing}, want, add))

	arr := got[pairArray]
	assert.Equal(t, byte('a'), arr.Kind)
	assert.Equal(t, byte(','), arr.Delim)
	pair := got[arr.Elem]
	assert.Equal(t, "pgt_pair", pair.Name)
	assert.Equal(t, byte('c'), pair.Kind)
	require.Len(t, pair.Attrs, 3)
	assert.Equal(t, []string{"mood", "label", "n"}, []string{pair.Attrs[0].Name, pair.Attrs[1].Name, pair.Attrs[2].Name})
	assert.Equal(t, uint32(pgtype.Int4OID), pair.Attrs[2].OID)
	mood := got[pair.Attrs[0].OID]
	assert.Equal(t, byte('e'), mood.Kind)
	short := got[pair.Attrs[1].OID]
	assert.Equal(t, byte('d'), short.Kind)
	assert.Equal(t, uint32(pgtype.VarcharOID), short.Elem)
	assert.Equal(t, int32(5+4), short.Typmod, "varchar(5)'s typmod")
	assert.Equal(t, byte(0), got[missing].Kind, "not in pg_type")
	assert.Len(t, got, 5)
}

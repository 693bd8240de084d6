package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/session"
)

func TestUnitOfWork_GraphAddedInWrongOrderFlushesParentsFirst(t *testing.T) {
	m, log, pool := uowFixture(t)
	s := uowSession(t, m)
	ctx := context.Background()

	p := &uParent{Name: "p"}
	c1 := &uChild{Name: "c1", Parent: p}
	c2 := &uChild{Name: "child-two", Parent: p}
	g := &uGrand{Note: "g", Child: c2}
	// grandchild first: Add cascades to the objects its refs point to
	require.NoError(t, s.AddAll(g, c1))
	assert.True(t, s.Contains(c2) && s.Contains(p), "refs are added along (save-update cascade)")
	assert.Len(t, s.New(), 4)

	require.NoError(t, s.Flush(ctx))
	assert.NotZero(t, p.ID, "the identity key came back")
	assert.False(t, p.CreatedAt.IsZero(), "default now() came back")
	assert.Equal(t, int32(1), p.Version, "a new row starts at version 1")
	assert.Equal(t, p.ID, c1.ParentID, "the parent's key was copied into the child")
	assert.Equal(t, p.ID, c2.ParentID)
	assert.Equal(t, c2.ID, g.ChildID)
	assert.Equal(t, int32(len("child-two")), c2.NameLen, "the generated column came back")
	assert.Empty(t, s.New())

	inserts := log.matching("insert into")
	require.Len(t, inserts, 3, "one INSERT per table")
	assert.Contains(t, inserts[0], `"uow_parents"`)
	assert.Contains(t, inserts[1], `"uow_children"`)
	assert.Contains(t, inserts[2], `"uow_grandchildren"`)
	assert.Equal(t, int64(2), scalar[int64](t, pool, "select count(*) from uow_children where parent_id = $1", p.ID))
	assert.Equal(t, "g", scalar[string](t, pool, "select note from uow_grandchildren where child_id = $1", c2.ID))
}

func TestUnitOfWork_SelfReferentialRows(t *testing.T) {
	m, _, pool := uowFixture(t)
	s := uowSession(t, m)
	ctx := context.Background()

	// identity keys, linked by refs, added leaf first
	root := &uTree{Label: "root"}
	mid := &uTree{Label: "mid", Parent: root}
	leaf := &uTree{Label: "leaf", Parent: mid}
	require.NoError(t, s.Add(leaf))
	require.NoError(t, s.Flush(ctx))
	require.NotNil(t, leaf.ParentID)
	assert.Equal(t, mid.ID, *leaf.ParentID)
	assert.Equal(t, root.ID, *mid.ParentID)
	assert.Nil(t, root.ParentID)

	// client keys, linked by foreign-key values only, added child first
	one, two := int64(1), int64(2)
	require.NoError(t, s.AddAll(
		&uNode{ID: 3, ParentID: &two, Label: "c"},
		&uNode{ID: 2, ParentID: &one, Label: "b"},
		&uNode{ID: 1, Label: "a"},
	))
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, "a/b/c", scalar[string](t, pool, `
		with recursive p as (select id, label::text as path from uow_nodes where parent_id is null
		union all select n.id, p.path || '/' || n.label from uow_nodes n join p on n.parent_id = p.id)
		select path from p where id = 3`))
}

func TestUnitOfWork_UpdatesOnlyTheChangedColumn(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1, 'p');
		insert into uow_children (id, parent_id, name, qty) values (10, 1, 'ten', 5)`)
	require.NoError(t, err)
	s := uowSession(t, m)

	c, err := session.GetOne[uChild](ctx, s, 10)
	require.NoError(t, err)
	assert.False(t, s.IsModified(c))
	c.Qty = 6
	assert.True(t, s.IsModified(c))
	assert.True(t, s.IsModified(c, "qty"))
	assert.False(t, s.IsModified(c, "name"))
	assert.Equal(t, []any{c}, s.Dirty())

	log.reset()
	require.NoError(t, s.Flush(ctx))
	updates := log.matching("update")
	require.Len(t, updates, 1)
	assert.Equal(t, `update "uow_children" set "qty" = $1 where "id" = $2 returning "name_len"`, updates[0])
	assert.Empty(t, s.Dirty())
	assert.Equal(t, int32(6), scalar[int32](t, pool, "select qty from uow_children where id = 10"))

	// a flush with nothing changed sends nothing
	log.reset()
	require.NoError(t, s.Flush(ctx))
	assert.Zero(t, log.count())
}

func TestUnitOfWork_ZeroValuesThatChangedAreWritten(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1, 'p');
		insert into uow_children (id, parent_id, name, qty) values (10, 1, 'ten', 5)`)
	require.NoError(t, err)
	s := uowSession(t, m)
	c, err := session.GetOne[uChild](ctx, s, 10)
	require.NoError(t, err)
	c.Qty, c.Name = 0, ""
	log.reset()
	require.NoError(t, s.Flush(ctx))
	require.Len(t, log.matching("update"), 1)
	assert.Contains(t, log.matching("update")[0], `set "name" = $1, "qty" = $2`)
	assert.Equal(t, "0:", scalar[string](t, pool, "select qty || ':' || name from uow_children where id = 10"))
	assert.Equal(t, int32(0), c.NameLen, "the generated column came back for the new name")
}

func TestUnitOfWork_OneRowIsOneObject(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1, 'a'), (2, 'b')`)
	require.NoError(t, err)
	s := uowSession(t, m)

	a, err := session.GetOne[uParent](ctx, s, 1)
	require.NoError(t, err)
	log.reset()
	again, err := session.GetOne[uParent](ctx, s, int64(1))
	require.NoError(t, err)
	assert.Same(t, a, again)
	assert.Zero(t, log.count(), "a Get of an object in the map sends no SQL")

	a.Name = "changed in Go"
	var all []*uParent
	s.NoAutoflush(func() {
		all, err = session.Select[uParent](ctx, s, "select * from uow_parents order by id")
	})
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Same(t, a, all[0], "a loaded row returns the object the session holds")
	assert.Equal(t, "changed in Go", a.Name, "and does not overwrite its fields")
	assert.Empty(t, log.matching("update"), "NoAutoflush: nothing was flushed")

	b, err := session.GetOne[uParent](ctx, s, 2)
	require.NoError(t, err)
	assert.Same(t, all[1], b, "an object first loaded by Select is found by Get")

	s.NoAutoflush(func() {
		all, err = session.Select[uParent](session.PopulateExisting(ctx), s, "select * from uow_parents where id = 1")
	})
	require.NoError(t, err)
	assert.Same(t, a, all[0])
	assert.Equal(t, "a", a.Name, "PopulateExisting overwrites with the row")
	assert.False(t, s.IsModified(a))
}

func TestUnitOfWork_AutoflushBeforeQueries(t *testing.T) {
	m, _, _ := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)
	_, err := s.Begin(ctx)
	require.NoError(t, err)

	require.NoError(t, s.Add(&uParent{Name: "seen"}))
	n, err := s.Scalar(ctx, "select count(*) from uow_parents")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "Scalar flushed the pending object first")

	require.NoError(t, s.Add(&uParent{Name: "streamed"}))
	st, err := s.Stream(ctx, "select name from uow_parents order by id")
	require.NoError(t, err)
	names := buffered.ScalarsOf[string](st).All()
	require.NoError(t, st.Err())
	assert.Equal(t, []string{"seen", "streamed"}, names)

	s.NoAutoflush(func() {
		require.NoError(t, s.Add(&uParent{Name: "held back"}))
		n, err = s.Scalar(ctx, "select count(*) from uow_parents")
	})
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "NoAutoflush: the pending object was not flushed")
	assert.Len(t, s.New(), 1)

	got, err := session.Select[uParent](ctx, s, "select * from uow_parents order by id")
	require.NoError(t, err)
	assert.Len(t, got, 3, "Select flushes first")
	require.NoError(t, s.Commit(ctx))

	off := uowSession(t, m, session.WithAutoflush(false))
	require.NoError(t, off.Add(&uParent{Name: "manual"}))
	n, err = off.Scalar(ctx, "select count(*) from uow_parents")
	require.NoError(t, err)
	assert.Equal(t, int64(3), n, "WithAutoflush(false)")
	require.NoError(t, off.Flush(ctx))
	n, err = off.Scalar(ctx, "select count(*) from uow_parents")
	require.NoError(t, err)
	assert.Equal(t, int64(4), n)
}

func TestUnitOfWork_StaleVersionBetweenTwoSessions(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1, 'v')`)
	require.NoError(t, err)
	s1, s2 := uowSession(t, m), uowSession(t, m)

	a, err := session.GetOne[uParent](ctx, s1, 1)
	require.NoError(t, err)
	b, err := session.GetOne[uParent](ctx, s2, 1)
	require.NoError(t, err)

	a.Name = "first"
	require.NoError(t, s1.Flush(ctx))
	assert.Equal(t, int32(2), a.Version, "the version went up")

	b.Name = "second"
	err = s2.Flush(ctx)
	require.ErrorIs(t, err, session.ErrStaleData)
	var stale *session.StaleDataError
	require.ErrorAs(t, err, &stale)
	assert.Same(t, b, stale.Object.(*uParent))
	assert.Equal(t, "UPDATE", stale.Op)
	assert.Contains(t, err.Error(), "uParent(1)")
	assert.Equal(t, int32(1), b.Version, "the failed flush put the version back")
	assert.True(t, s2.IsModified(b), "and the change is still pending")
	assert.Equal(t, "first", scalar[string](t, pool, "select name from uow_parents where id = 1"))

	// refresh, change again, and it goes through
	require.NoError(t, s2.Refresh(ctx, b))
	assert.Equal(t, "first", b.Name)
	assert.Equal(t, int32(2), b.Version)
	b.Name = "second"
	require.NoError(t, s2.Flush(ctx))
	assert.Equal(t, int32(3), scalar[int32](t, pool, "select version from uow_parents where id = 1"))

	// a DELETE checks the version too
	require.NoError(t, s1.Delete(a)) // a still has version 2
	err = s1.Flush(ctx)
	require.ErrorIs(t, err, session.ErrStaleData)
	require.ErrorAs(t, err, &stale)
	assert.Equal(t, "DELETE", stale.Op)
	assert.Equal(t, []any{a}, s1.Deleted(), "still marked for deletion")
	assert.Equal(t, int64(1), scalar[int64](t, pool, "select count(*) from uow_parents"))
}

func TestUnitOfWork_UniqueViolationInABigBatchChangesNothing(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)
	objs := make([]*uParent, 10_000)
	for i := range objs {
		objs[i] = &uParent{Name: fmt.Sprintf("p%05d", i)}
		require.NoError(t, s.Add(objs[i]))
	}
	objs[7_500].Name = objs[2_500].Name // in the 8th chunk of 1000

	err := s.Flush(ctx)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "23505", pgErr.Code)
	assert.Zero(t, scalar[int64](t, pool, "select count(*) from uow_parents"), "nothing written")
	assert.Len(t, s.New(), 10_000, "everything still pending")
	for _, p := range objs {
		require.Zero(t, p.ID, "keys read back from the rolled-back chunks were put back")
		require.Zero(t, p.Version)
		require.True(t, p.CreatedAt.IsZero())
	}

	objs[7_500].Name = "fixed"
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, int64(10_000), scalar[int64](t, pool, "select count(*) from uow_parents"))
	assert.Equal(t, "fixed", scalar[string](t, pool, "select name from uow_parents where id = $1", objs[7_500].ID))
	for i := 1; i < len(objs); i++ {
		require.Greater(t, objs[i].ID, objs[i-1].ID, "keys came back in row order")
	}
	assert.Equal(t, objs[42].Name, scalar[string](t, pool, "select name from uow_parents where id = $1", objs[42].ID))
}

func TestUnitOfWork_RollbackRestoresTheObjects(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (name) values ('kept'), ('doomed')`)
	require.NoError(t, err)
	s := uowSession(t, m)
	_, err = s.Begin(ctx)
	require.NoError(t, err)

	kept, err := session.GetOne[uParent](ctx, s, 1)
	require.NoError(t, err)
	doomed, err := session.GetOne[uParent](ctx, s, 2)
	require.NoError(t, err)
	fresh := &uParent{Name: "fresh"}
	require.NoError(t, s.Add(fresh))
	kept.Name = "renamed"
	require.NoError(t, s.Delete(doomed))
	require.NoError(t, s.Flush(ctx))
	require.NotZero(t, fresh.ID)
	unflushed := &uParent{Name: "never flushed"}
	require.NoError(t, s.Add(unflushed))

	require.NoError(t, s.Rollback(ctx))
	assert.False(t, s.Contains(fresh), "an object inserted in the transaction is expunged")
	assert.Zero(t, fresh.ID, "with its server-made key put back")
	assert.False(t, s.Contains(unflushed), "a pending object is expunged")
	assert.Equal(t, "kept", kept.Name, "an updated object is back as the database has it")
	assert.Equal(t, int32(1), kept.Version)
	assert.True(t, s.Contains(doomed), "a deleted object is persistent again")
	assert.Empty(t, s.Deleted())
	assert.Empty(t, s.Dirty())
	assert.Equal(t, int64(2), scalar[int64](t, pool, "select count(*) from uow_parents"))
}

func TestUnitOfWork_SavepointRollbackUndoesOnlyItsChanges(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)
	_, err := s.Begin(ctx)
	require.NoError(t, err)

	outer := &uParent{Name: "outer"}
	require.NoError(t, s.Add(outer))
	sp, err := s.BeginNested(ctx) // flushes outer first
	require.NoError(t, err)
	require.NotZero(t, outer.ID)

	inner := &uParent{Name: "inner"}
	require.NoError(t, s.Add(inner))
	outer.Name = "outer changed"
	require.NoError(t, s.Flush(ctx))
	require.NoError(t, sp.Rollback(ctx))

	assert.False(t, s.Contains(inner))
	assert.Zero(t, inner.ID)
	assert.True(t, s.Contains(outer))
	assert.Equal(t, "outer", outer.Name, "the update inside the savepoint is undone")
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, "outer", scalar[string](t, pool, "select string_agg(name, ',') from uow_parents"))
}

func TestUnitOfWork_MergeDetachedObjects(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1, 'orig')`)
	require.NoError(t, err)

	first := m.New()
	detached, err := session.GetOne[uParent](ctx, first, 1)
	require.NoError(t, err)
	require.NoError(t, first.Close(ctx))
	assert.Nil(t, session.ObjectSession(detached), "Close detaches")
	detached.Name = "edited offline"

	s := uowSession(t, m)
	merged, err := session.Merge(ctx, s, detached)
	require.NoError(t, err)
	assert.NotSame(t, detached, merged, "Merge returns the session's own object")
	assert.Same(t, s, session.ObjectSession(merged))
	assert.Nil(t, session.ObjectSession(detached))
	assert.Equal(t, "edited offline", merged.Name)
	log.reset()
	require.NoError(t, s.Flush(ctx))
	require.Len(t, log.matching("update"), 1)
	assert.Contains(t, log.matching("update")[0], `set "name" = $1, "version" = $2`)
	assert.Equal(t, "edited offline", scalar[string](t, pool, "select name from uow_parents where id = 1"))

	again, err := session.Merge(ctx, s, &uParent{ID: 1, Name: "second merge", Version: 2})
	require.NoError(t, err)
	assert.Same(t, merged, again, "a key in the map merges onto that object")

	brandNew, err := session.Merge(ctx, s, &uParent{ID: 77, Name: "not in the database"})
	require.NoError(t, err)
	assert.Equal(t, []any{brandNew}, s.New(), "a key with no row becomes a pending copy")
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, int64(1), scalar[int64](t, pool, "select count(*) from uow_parents where id = 77"))
}

func TestUnitOfWork_CompositeKeysAndBulkDelete(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)
	var members []*uMember
	for i := range 200 {
		members = append(members, &uMember{OrgID: int32(i % 3), UserID: int32(i), Role: "r"})
		require.NoError(t, s.Add(members[i]))
	}
	log.reset()
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, []string{`COPY "uow_members"`}, log.matching("copy"), "nothing to read back: COPY")

	got, err := session.GetOne[uMember](ctx, s, 1, 4)
	require.NoError(t, err)
	assert.Same(t, members[4], got)
	got.Role = "admin"
	for _, x := range members[100:] {
		require.NoError(t, s.Delete(x))
	}
	log.reset()
	require.NoError(t, s.Flush(ctx))
	require.Len(t, log.matching("delete"), 1, "100 deletes in one statement")
	assert.Contains(t, log.matching("update")[0], `where "org_id" = $2 and "user_id" = $3`)
	assert.Equal(t, int64(100), scalar[int64](t, pool, "select count(*) from uow_members"))
	assert.Equal(t, "admin", scalar[string](t, pool, "select role from uow_members where org_id = 1 and user_id = 4"))
	assert.False(t, s.Contains(members[150]), "deleted objects leave the session")

	// a single-column key: key = any($1)
	_, err = pool.Exec(ctx, `insert into uow_nodes (id, label) select g, 'n' from generate_series(1, 50) g`)
	require.NoError(t, err)
	nodes, err := session.Select[uNode](ctx, s, "select * from uow_nodes")
	require.NoError(t, err)
	for _, n := range nodes {
		require.NoError(t, s.Delete(n))
	}
	log.reset()
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, []string{`delete from "uow_nodes" where "id" = any($1)`}, log.matching("delete"))
	assert.Zero(t, scalar[int64](t, pool, "select count(*) from uow_nodes"))
}

func TestUnitOfWork_ExpireAndCommit(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1, 'one'), (2, 'two')`)
	require.NoError(t, err)
	s := uowSession(t, m)

	one, err := session.GetOne[uParent](ctx, s, 1)
	require.NoError(t, err)
	two, err := session.GetOne[uParent](ctx, s, 2)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `update uow_parents set name = name || ' (db)', version = version + 1`)
	require.NoError(t, err)

	require.NoError(t, s.Expire(one))
	require.NoError(t, s.Expire(two))
	log.reset()
	got, err := session.GetOne[uParent](ctx, s, 1)
	require.NoError(t, err)
	assert.Same(t, one, got)
	assert.Len(t, log.matching("select"), 1, "an expired object is queried")
	assert.Equal(t, "one (db)", one.Name, "and reloaded")
	assert.Equal(t, int32(2), one.Version)

	two.Name = "two (go)" // a change made after Expire
	// without NoAutoflush the Get would first flush two's change against the
	// version it was loaded with, and fail with ErrStaleData: the row changed
	s.NoAutoflush(func() { _, err = session.GetOne[uParent](ctx, s, 2) })
	require.NoError(t, err)
	assert.Equal(t, "two (go)", two.Name, "a change made in Go is kept over the reload")
	assert.Equal(t, int32(2), two.Version, "the other columns are reloaded")
	assert.True(t, s.IsModified(two, "name"))

	// commit expires everything by default
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Commit(ctx)) // flushes two's name
	assert.Equal(t, "two (go)", scalar[string](t, pool, "select name from uow_parents where id = 2"))
	log.reset()
	_, err = session.GetOne[uParent](ctx, s, 1)
	require.NoError(t, err)
	assert.Len(t, log.matching("select"), 1, "after commit a Get queries again")

	keep := uowSession(t, m, session.WithExpireOnCommit(false))
	k, err := session.GetOne[uParent](ctx, keep, 1)
	require.NoError(t, err)
	_, err = keep.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, keep.Commit(ctx))
	log.reset()
	again, err := session.GetOne[uParent](ctx, keep, 1)
	require.NoError(t, err)
	assert.Same(t, k, again)
	assert.Zero(t, log.count(), "WithExpireOnCommit(false): still from the map")
}

func TestUnitOfWork_RefreshColumns(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1, 'one')`)
	require.NoError(t, err)
	s := uowSession(t, m)
	p, err := session.GetOne[uParent](ctx, s, 1)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `update uow_parents set name = 'db', version = 5`)
	require.NoError(t, err)
	p.Name = "go"
	require.NoError(t, s.Refresh(ctx, p, "version"))
	assert.Equal(t, int32(5), p.Version)
	assert.Equal(t, "go", p.Name, "only the named column was refreshed")
	require.NoError(t, s.Refresh(ctx, p))
	assert.Equal(t, "db", p.Name)
	assert.False(t, s.IsModified(p))
	assert.ErrorContains(t, s.Refresh(ctx, p, "nope"), `no column "nope"`)

	_, err = pool.Exec(ctx, `delete from uow_parents`)
	require.NoError(t, err)
	assert.ErrorIs(t, s.Refresh(ctx, p), buffered.ErrNoRows)
}

type uUnmapped struct{ A int }

func TestUnitOfWork_Misuse(t *testing.T) {
	m, _, _ := uowFixture(t)
	ctx := context.Background()
	s, other := uowSession(t, m), uowSession(t, m)

	assert.ErrorIs(t, s.Add(nil), session.ErrNotMapped)
	assert.ErrorIs(t, s.Add(uParent{}), session.ErrNotMapped)
	assert.ErrorIs(t, s.Add((*uParent)(nil)), session.ErrNotMapped)
	err := s.Add(&uUnmapped{})
	assert.ErrorIs(t, err, session.ErrNotMapped)
	assert.ErrorIs(t, err, session.ErrNoPrimaryKey)

	p := &uParent{Name: "mine"}
	require.NoError(t, s.Add(p))
	assert.ErrorIs(t, other.Add(p), session.ErrOtherSession)
	assert.Same(t, s, session.ObjectSession(p))
	require.NoError(t, s.Flush(ctx))

	err = s.Add(&uParent{ID: p.ID, Name: "twin"})
	assert.ErrorIs(t, err, session.ErrIdentityConflict)
	assert.ErrorIs(t, s.Delete(&uParent{ID: 999}), session.ErrNotInSession)
	assert.ErrorIs(t, s.Expunge(&uParent{ID: 999}), session.ErrNotInSession)

	id, err := session.IdentityKey(p)
	require.NoError(t, err)
	assert.Equal(t, []any{p.ID}, id.Key)
	assert.Equal(t, "session_test.uParent", id.Type.String())

	var seen []any
	for o := range s.Objects() {
		seen = append(seen, o)
	}
	assert.Equal(t, []any{p}, seen)
	require.NoError(t, s.Expunge(p))
	assert.False(t, s.Contains(p))
	require.NoError(t, other.Add(p), "an expunged object may join another session")
}

func TestUnitOfWork_DeletePendingAndParentsAfterChildren(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)
	p := &uParent{Name: "p"}
	c := &uChild{Name: "c", Parent: p}
	require.NoError(t, s.Add(c))
	require.NoError(t, s.Flush(ctx))

	gone := &uParent{Name: "never inserted"}
	require.NoError(t, s.Add(gone))
	require.NoError(t, s.Delete(gone))
	assert.False(t, s.Contains(gone), "deleting a pending object just drops it")

	require.NoError(t, s.Delete(p)) // added before its child: still deleted after it
	require.NoError(t, s.Delete(c))
	log.reset()
	require.NoError(t, s.Flush(ctx))
	deletes := log.matching("delete")
	require.Len(t, deletes, 2)
	assert.Contains(t, deletes[0], "uow_children")
	assert.Contains(t, deletes[1], "uow_parents")
	assert.Zero(t, scalar[int64](t, pool, "select count(*) from uow_parents"))
}

func TestUnitOfWork_CommitFlushesAndMakerBegin(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	err := m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		return s.Add(&uParent{Name: "via Maker.Begin"})
	})
	require.NoError(t, err)
	assert.Equal(t, int64(1), scalar[int64](t, pool, "select count(*) from uow_parents"))

	err = m.Begin(ctx, func(ctx context.Context, s *session.Session) error {
		if err := s.Add(&uParent{Name: "rolled back"}); err != nil {
			return err
		}
		return errors.New("no")
	})
	require.Error(t, err)
	assert.Equal(t, int64(1), scalar[int64](t, pool, "select count(*) from uow_parents"))
}

func TestUnitOfWork_FlushOutsideATransactionIsAtomic(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m)
	p := &uParent{Name: "p"}
	require.NoError(t, s.Add(p))
	require.NoError(t, s.Flush(ctx))
	// a valid update and an invalid insert in one flush: neither lands
	p.Name = "renamed"
	bad := &uChild{Name: "orphan", ParentID: 424242}
	require.NoError(t, s.Add(bad))
	err := s.Flush(ctx)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "23503", pgErr.Code)
	assert.Equal(t, "p", scalar[string](t, pool, "select name from uow_parents"))
	assert.True(t, s.IsModified(p))
	require.NoError(t, s.Expunge(bad))
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, "renamed", scalar[string](t, pool, "select name from uow_parents"))
	assert.True(t, strings.HasPrefix(err.Error(), `session: Flush: insert into "uow_children"`), err.Error())
}

func TestUnitOfWork_FlushThatLosesTheConnectionNeedsARollback(t *testing.T) {
	// a lost connection in the middle of a flush cannot be produced by a
	// healthy server on demand: the fault proxy swallows the INSERT's reply
	// and cuts the link
	pool, proxy, s := proxiedUowSession(t)
	ctx := context.Background()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	p := &uParent{Name: "lost"}
	require.NoError(t, s.Add(p))
	proxy.DropReplyTo(func(q string) bool { return strings.Contains(q, "insert into") })
	err = s.Flush(ctx)
	require.Error(t, err)
	assert.Zero(t, p.ID, "the object is as before the flush")
	assert.Equal(t, []any{p}, s.New())

	_, err = s.Execute(ctx, "select 1")
	require.ErrorIs(t, err, session.ErrPendingRollback, "the transaction is gone: the session says so")
	assert.ErrorIs(t, s.Add(&uParent{Name: "x"}), session.ErrPendingRollback)
	assert.ErrorIs(t, s.Commit(ctx), session.ErrPendingRollback)

	_ = s.Rollback(ctx) // the connection is dead: the rollback may report it
	assert.Empty(t, s.New(), "the rollback expunged the pending object")
	require.NoError(t, s.Add(p), "and the session works again")
	require.NoError(t, s.Flush(ctx))
	assert.NotZero(t, p.ID)
	assert.Equal(t, int64(1), scalar[int64](t, pool, "select count(*) from uow_parents"))
}

func TestUnitOfWork_InPlaceChangesToSlicesAndMapsAreSeen(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_docs values (1, '{a,b}', '{"n": 1}', '\x0102')`)
	require.NoError(t, err)
	s := uowSession(t, m)
	d, err := session.GetOne[uDoc](ctx, s, 1)
	require.NoError(t, err)
	assert.False(t, s.IsModified(d))

	d.Tags[0] = "z" // in place: the snapshot holds a deep copy
	assert.True(t, s.IsModified(d, "tags"))
	d.Attrs["n"] = 2.0
	d.Body[1] = 9
	log.reset()
	require.NoError(t, s.Flush(ctx))
	require.Len(t, log.matching("update"), 1)
	assert.Contains(t, log.matching("update")[0], `set "tags" = $1, "attrs" = $2, "body" = $3`)
	assert.Equal(t, `{z,b}|{"n": 2}|\x0109`, scalar[string](t, pool, "select tags::text || '|' || attrs::text || '|' || body::text from uow_docs"))
	assert.False(t, s.IsModified(d))
}

func TestUnitOfWork_FlushOfSelectedObjects(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	s := uowSession(t, m, session.WithAutoflush(false))
	a, b := &uParent{Name: "a"}, &uParent{Name: "b", CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}
	require.NoError(t, s.AddAll(a, b))
	require.NoError(t, s.Flush(ctx, b))
	assert.Equal(t, []any{a}, s.New(), "only b was flushed")
	assert.Equal(t, "b", scalar[string](t, pool, "select string_agg(name, ',') from uow_parents"))
	assert.Equal(t, "2020", scalar[string](t, pool, "select extract(year from created_at)::text from uow_parents"),
		"a default column set in Go is written, not left to the server")
	assert.ErrorIs(t, s.Flush(ctx, &uParent{}), session.ErrNotInSession)
}

func TestUnitOfWork_TwoSessionsAddingOneObjectAtOnce(t *testing.T) {
	m, _, _ := uowFixture(t)
	for range 50 {
		obj := &uParent{Name: "contested"}
		a, b := m.New(), m.New()
		errs := make(chan error, 2)
		var wg sync.WaitGroup
		for _, s := range []*session.Session{a, b} {
			wg.Go(func() { errs <- s.Add(obj) })
		}
		wg.Wait()
		close(errs)
		var ok, refused int
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, session.ErrOtherSession):
				refused++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		require.Equal(t, 1, ok, "exactly one session gets the object")
		require.Equal(t, 1, refused)
		require.NoError(t, a.Close(context.Background()))
		require.NoError(t, b.Close(context.Background()))
		assert.Nil(t, session.ObjectSession(obj), "Close lets it go")
	}
}

func TestUnitOfWork_KeysFilledInAreZeroAgainAfterAFailureOrARollback(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (id, name) values (1000, 'p')`)
	require.NoError(t, err)
	s := uowSession(t, m)

	// the children's INSERT succeeds and fills their ids and generated
	// column, then the grandchild's fails: the children get their zeros back
	kids := []*uChild{{ParentID: 1000, Name: "a"}, {ParentID: 1000, Name: "bb"}}
	orphan := &uGrand{ChildID: 987654, Note: "no such child"}
	require.NoError(t, s.AddAll(kids[0], kids[1], orphan))
	err = s.Flush(ctx)
	require.Error(t, err)
	for _, k := range kids {
		assert.Zero(t, k.ID, "the id read back was put back")
		assert.Zero(t, k.NameLen, "and the generated column")
	}
	require.NoError(t, s.Expunge(orphan))
	require.NoError(t, s.Flush(ctx))
	assert.NotZero(t, kids[0].ID)
	assert.Equal(t, int32(2), kids[1].NameLen)

	// inserted in a transaction that rolls back: zero again, out of the session
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	late := &uChild{ParentID: 1000, Name: "late"}
	require.NoError(t, s.Add(late))
	require.NoError(t, s.Flush(ctx))
	require.NotZero(t, late.ID)
	require.NoError(t, s.Rollback(ctx))
	assert.Zero(t, late.ID)
	assert.Zero(t, late.NameLen)
	assert.False(t, s.Contains(late))
}

type uWide struct {
	_    struct{} `table:"uow_wide"`
	A    int32    `db:"a,pk"`
	B    int32    `db:"b,pk"`
	C    int32    `db:"c,pk"`
	D    int32    `db:"d,pk"`
	E    int32    `db:"e,pk"`
	Note string   `db:"note"`
}

func TestUnitOfWork_KeysOfMoreThanFourColumns(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `create table uow_wide (a int4, b int4, c int4, d int4, e int4, note text not null,
		primary key (a, b, c, d, e))`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "drop table uow_wide") })
	s := uowSession(t, m)
	w := &uWide{A: 1, B: 2, C: 3, D: 4, E: 5, Note: "five"}
	require.NoError(t, s.Add(w))
	require.NoError(t, s.Flush(ctx))
	got, err := session.GetOne[uWide](ctx, s, 1, 2, 3, 4, 5)
	require.NoError(t, err)
	assert.Same(t, w, got, "one row is one object, whatever the key's width")
	id, err := session.IdentityKey(w)
	require.NoError(t, err)
	assert.Equal(t, []any{int32(1), int32(2), int32(3), int32(4), int32(5)}, id.Key)
	assert.ErrorIs(t, s.Add(&uWide{A: 1, B: 2, C: 3, D: 4, E: 5}), session.ErrIdentityConflict)
}

// A COPY flush files its objects in the identity map while pgx sends their
// rows (see copyRows). When a later statement of the same flush fails, they
// must leave the map again: still pending, not found by key, inserted by
// the next flush.
func TestUnitOfWork_FailureAfterCopyLeavesTheObjectsPending(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_parents (name) values ('a'), ('b')`)
	require.NoError(t, err)
	s := uowSession(t, m)
	a, err := session.GetOne[uParent](ctx, s, int64(1))
	require.NoError(t, err)
	b, err := session.GetOne[uParent](ctx, s, int64(2))
	require.NoError(t, err)

	nodes := make([]*uNode, 100) // enough for COPY
	for i := range nodes {
		nodes[i] = &uNode{ID: int64(i + 1), Label: "n"}
		require.NoError(t, s.Add(nodes[i]))
	}
	b.Name = a.Name // the UPDATE, sent after the COPY, violates the unique name
	err = s.Flush(ctx)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "23505", pgErr.Code)

	assert.Len(t, s.New(), 100, "the copied objects are still pending")
	var got *uNode
	s.NoAutoflush(func() { got, err = session.Get[uNode](ctx, s, int64(7)) })
	require.NoError(t, err)
	assert.Nil(t, got, "a pending object is not found by key, and the row does not exist")
	assert.Zero(t, scalar[int64](t, pool, "select count(*) from uow_nodes"))

	b.Name = "b2"
	require.NoError(t, s.Flush(ctx))
	assert.Empty(t, s.New())
	assert.Equal(t, int64(100), scalar[int64](t, pool, "select count(*) from uow_nodes"))
	got, err = session.Get[uNode](ctx, s, int64(7))
	require.NoError(t, err)
	assert.Same(t, nodes[6], got, "after the flush the identity map holds the object")
	nodes[6].Label = "changed"
	assert.True(t, s.IsModified(nodes[6]), "the snapshot taken during the COPY is the row as written")
	assert.False(t, s.IsModified(nodes[5]))
}

// A key changed in Go is an UPDATE of the key column, after which the
// identity map files the object under its new key; a savepoint's rollback
// files it under the old one again.
func TestUnitOfWork_ChangingTheKeyRefilesTheObject(t *testing.T) {
	m, log, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_nodes (id, label) values (1, 'a')`)
	require.NoError(t, err)
	s := uowSession(t, m)
	_, err = s.Begin(ctx)
	require.NoError(t, err)
	n, err := session.GetOne[uNode](ctx, s, int64(1))
	require.NoError(t, err)
	sp, err := s.BeginNested(ctx)
	require.NoError(t, err)

	n.ID = 100
	log.reset()
	require.NoError(t, s.Flush(ctx))
	require.Len(t, log.matching("update"), 1)
	assert.Contains(t, log.matching("update")[0], `set "id" = $1 where "id" = $2`)
	log.reset()
	got, err := session.Get[uNode](ctx, s, int64(100))
	require.NoError(t, err)
	assert.Same(t, n, got, "filed under the new key")
	assert.Empty(t, log.matching("select"), "from the identity map")
	got, err = session.Get[uNode](ctx, s, int64(1))
	require.NoError(t, err)
	assert.Nil(t, got, "the old key is no row any more")

	require.NoError(t, sp.Rollback(ctx))
	assert.Equal(t, int64(1), n.ID, "the rollback put the key back")
	got, err = session.Get[uNode](ctx, s, int64(1))
	require.NoError(t, err)
	assert.Same(t, n, got, "filed under the old key again")
	got, err = session.Get[uNode](ctx, s, int64(100))
	require.NoError(t, err)
	assert.Nil(t, got)
	require.NoError(t, s.Commit(ctx))
	assert.Equal(t, "a", scalar[string](t, pool, "select label from uow_nodes where id = 1"))
}

// Select files its new objects as one range (no map entry per row): every
// way of finding an object by its address must still find them, and only
// them.
func TestUnitOfWork_ObjectsLoadedBySelectAreHeldLikeAnyOther(t *testing.T) {
	m, _, pool := uowFixture(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `insert into uow_nodes (id, label) select g, 'n' || g from generate_series(1, 200) g`)
	require.NoError(t, err)
	s := uowSession(t, m, session.WithAutoflush(false))
	first, err := session.GetOne[uNode](ctx, s, int64(5)) // held before the Select, through the map
	require.NoError(t, err)
	nodes, err := session.Select[uNode](ctx, s, "select * from uow_nodes order by id")
	require.NoError(t, err)
	require.Len(t, nodes, 200)
	assert.Same(t, first, nodes[4], "a row the session held returns that object")
	more, err := session.Select[uNode](ctx, s, "select * from uow_nodes where id > 150 order by id")
	require.NoError(t, err)
	assert.Same(t, nodes[150], more[0], "a second Select finds the first one's objects")

	n := 0
	for range s.Objects() {
		n++
	}
	assert.Equal(t, 200, n, "each object once")
	for _, x := range []*uNode{nodes[0], nodes[4], nodes[199]} {
		assert.True(t, s.Contains(x))
		assert.Same(t, s, session.ObjectSession(x))
	}
	assert.False(t, s.Contains(&uNode{ID: 1}), "a copy at another address is not held")
	var inside uNode // an address between two held objects' fields
	assert.False(t, s.Contains(&inside))

	other := uowSession(t, m)
	assert.ErrorIs(t, other.Add(nodes[10]), session.ErrOtherSession)

	nodes[20].Label = "changed"
	assert.True(t, s.IsModified(nodes[20]))
	assert.Equal(t, []any{nodes[20]}, s.Dirty())
	require.NoError(t, s.Delete(nodes[30]))
	assert.Equal(t, []any{nodes[30]}, s.Deleted())
	require.NoError(t, s.Expunge(nodes[40]))
	assert.False(t, s.Contains(nodes[40]))
	assert.Nil(t, session.ObjectSession(nodes[40]))
	require.NoError(t, other.Add(nodes[40]), "expunged: another session may take it")

	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, "changed", scalar[string](t, pool, "select label from uow_nodes where id = 21"))
	assert.Zero(t, scalar[int64](t, pool, "select count(*) from uow_nodes where id = 31"))
	assert.False(t, s.Contains(nodes[30]), "deleted and flushed: gone")
	assert.Empty(t, s.Dirty())

	require.NoError(t, s.ExpungeAll())
	assert.False(t, s.Contains(nodes[0]))
	assert.Nil(t, session.ObjectSession(nodes[0]))
	require.NoError(t, other.Add(nodes[0]))
}

// Package session runs statements for a unit of work and hands their rows to
// the two result kinds, from one executor: Execute, Scalar and Scalars return
// a *buffered.Result with every row already in memory and the connection
// released; Stream and StreamScalars return a *stream.Result that reads the
// rows as they arrive.
//
// It follows SQLAlchemy 2.0's asyncio session API:
//
//   - Maker (async_sessionmaker) makes sessions with shared options
//     (isolation, read-only, deferrable, router, retry policy, info);
//     Maker.Begin runs a function in a transaction that commits on nil,
//     rolls back on error or panic, and can rerun on serialization failures
//     and deadlocks.
//   - Session (AsyncSession) is one unit of work on at most one connection
//     at a time: Begin, BeginNested (SAVEPOINT), Commit, Rollback, Close,
//     Reset, Invalidate, Connection. It is not for concurrent use: a second
//     call while one runs fails with ErrBusy instead of corrupting the
//     connection. Statements run in autocommit until Begin.
//   - Scoped (async_scoped_session) keeps one session per context scope, and
//     its Middleware gives every HTTP request its own.
//   - Router (get_bind) chooses where statements outside a transaction run;
//     NewPrimaryReplica sends reads to replicas and falls back to the primary.
//   - The unit of work (the other half of AsyncSession): Add, AddAll,
//     Delete, Merge, Flush, Refresh, Expire, ExpireAll, Expunge,
//     ExpungeAll, New, Dirty, Deleted, IsModified, Contains, Objects,
//     NoAutoflush, IdentityKey and ObjectSession, over an identity map in
//     which one primary key is one *T; Get, GetOne and Select[T] load
//     through it.
//
// # Mapping structs
//
// Structs map to tables by one set of rules, shared with buffered.Structs:
// `db:"column"` tags (an untagged field's column is the snake_case of its
// name; `db:"-"` skips it; embedded structs are flattened), a table from a
// TableName() method or a blank field's `table:"schema.name"` tag (else the
// snake_case of the type name), and a key from a PrimaryKey() method or
// pk-tagged fields. Column options follow the name:
//
//	type Order struct {
//		_        struct{}  `table:"shop.orders"`
//		ID       int64     `db:"id,pk,default"`      // identity: left to the server, read back
//		Customer int64     `db:"customer_id"`
//		PlacedAt time.Time `db:"placed_at,default"`  // default now() when zero
//		Total    int64     `db:"total_cents"`
//		TaxCents int64     `db:"tax_cents,readonly"` // a generated column: never written
//		Version  int32     `db:"version,version"`    // optimistic locking
//		Cust     *Customer `ref:"customer_id"`       // a reference: Cust's key fills customer_id
//	}
//
// An unknown option is an error naming the field.
//
// # The unit of work
//
// Add makes objects pending; loads (Get, GetOne, Select) make them
// persistent and keep a snapshot of their columns. Go cannot see a field
// being set, so changes are found by comparing each persistent object with
// its snapshot at flush time: strings and pointer-free fields by value,
// fields holding slices, maps or pointers against a deep copy (so in-place
// changes count). Flush writes, in foreign-key order, multi-row INSERTs
// (COPY when nothing comes back), UPDATEs of the changed columns only, and
// one DELETE per table, atomically (see Flush). Autoflush runs it before
// every statement of the session; Commit runs it before committing.
//
// Rollback expunges the objects that were pending or inserted in the
// transaction (their server-made keys are put back to zero), puts updated
// and deleted objects back as the database still has them, undoes
// unflushed changes, and expires everything. Restoring the fields, and not
// only expiring them as SQLAlchemy does, is deliberate: SQLAlchemy reloads
// an expired attribute when it is read, while a Go field read cannot be
// intercepted, so after a rollback the fields must already hold the
// database's values. A savepoint's Rollback does the same for what its
// flushes changed. Commit expires every object by default
// (WithExpireOnCommit): in Go that only makes the next Get query again.
//
// Costs: Add, Delete, Expire and Expunge send no SQL. A Get of an object in
// the map sends none either. A flush costs two round trips for its
// transaction or savepoint, one per 1000 inserted rows of a table (or one
// COPY; from two full chunks on, the INSERTs are pipelined, so their round
// trips overlap), one for all UPDATEs, one per table with deletions, and
// one catalog query per table the Maker has not seen; finding what changed
// compares every persistent object with its snapshot. Each tracked object
// costs its snapshot (a shallow copy of the struct, plus deep copies of
// slice/map/pointer fields), a 40-byte record and an entry in a table by
// key (objects added or loaded one by one also one by address, and 2-4
// bytes in a filter of addresses that lets Add leave the filing by
// address to the flush), 21 bytes each: about 60-80 bytes plus one copy
// of the struct. The session holds its objects
// strongly until Expunge, ExpungeAll or Close: keep sessions short, as
// units of work are.
//
// Make pools with NewPool or PoolConfig: a cancelled context then stops the
// query with a cancel request and keeps the connection.
package session

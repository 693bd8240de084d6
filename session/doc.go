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
//   - Get and GetOne read a struct by primary key.
//
// Make pools with NewPool or PoolConfig: a cancelled context then stops the
// query with a cancel request and keeps the connection.
package session

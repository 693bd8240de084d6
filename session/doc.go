// Package session runs statements for a unit of work and hands their rows to
// the two result kinds: Execute, Scalar and Scalars return a
// *buffered.Result with every row already in memory and the connection
// released; streaming reads come from the same executor.
//
// It follows SQLAlchemy 2.0's AsyncSession and async_sessionmaker: a Maker
// makes Sessions from a pool; a Session is one unit of work on at most one
// connection at a time and is not for concurrent use: a second call while
// one is running fails with ErrBusy instead of corrupting the connection.
package session

// Package faultproxy is a test-only TCP proxy that sits between a pool and a
// PostgreSQL server and injects the network faults a real server cannot
// produce on demand:
//
//   - Cut closes every link now; CutAfter closes the link that carries the
//     next n bytes in one direction, after forwarding exactly n of them (a
//     connection lost in the middle of a result).
//   - Stall stops forwarding in one or both directions without closing
//     anything (a dead network: the peers wait on open sockets); Resume
//     forwards again, nothing lost.
//   - DropReplyTo swallows the server's reply to the next statement the
//     client sends that matches (simple Query, or the Execute of a parsed
//     statement in the extended protocol) and then cuts the link: the server
//     ran the statement, the client never hears how it went. That is a lost
//     COMMIT reply.
//
// Use it with a pgx configuration:
//
//	cfg, _ := pgxpool.ParseConfig(dsn)
//	p, err := faultproxy.ForConfig(cfg.ConnConfig) // listens on 127.0.0.1, targets cfg's server
//	defer p.Close()
//	p.Redirect(cfg.ConnConfig)                      // the pool now dials the proxy
//
// Cancel requests go through the proxy too (pgx sends them to the address it
// is connected to), so a stall also holds back a cancel request, as a dead
// network would.
//
// DropReplyTo follows the protocol by its frames (a 1-byte type and a 4-byte
// big-endian length, after an untyped startup message): each simple Query or
// Sync the client sends is answered by exactly one ReadyForQuery, in order,
// so the proxy knows which server bytes answer which statement. A link that
// switches to TLS (sslmode=require) is forwarded without parsing, and its
// replies are never dropped: use sslmode=disable, as localpg does.
//
// Every goroutine the proxy starts (the accept loop and two pumps per link)
// is stopped by Close, which returns once they have all ended.
package faultproxy

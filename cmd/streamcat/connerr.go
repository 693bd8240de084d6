package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connectErrorText describes why connecting failed, without pgconn's own
// "failed to connect to `user=... database=...`:" prefix (the caller names
// the target). pgconn reports every attempt (with sslmode=prefer a TLS one
// and a plain one, and one per host and address): the most specific one is
// kept, which is the server's own error when one got that far, else the
// last attempt. "server refused TLS connection" alone is never the reason
// when a plain attempt followed.
func connectErrorText(err error, cfg *pgx.ConnConfig) string {
	attempts := connectAttempts(err)
	if len(attempts) == 0 {
		return strings.Join(strings.Fields(err.Error()), " ")
	}
	pick := attempts[len(attempts)-1]
	for _, a := range attempts {
		var pe *pgconn.PgError
		if errors.As(a, &pe) {
			pick = a
			if pe.Code == "28P01" && cfg.Password == "" {
				// pgconn sends an empty password where libpq stops with
				// "no password supplied": say what actually happened.
				return fmt.Sprintf("no password supplied, and the server asks for one for user %q: set PGPASSWORD, use ~/.pgpass or put it in the connection string", cfg.User)
			}
		}
	}
	return strings.Join(strings.Fields(pick.Error()), " ")
}

// connectAttempts unwraps a *pgconn.ConnectError into the error of each
// attempt.
func connectAttempts(err error) []error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return nil
	}
	inner := errors.Unwrap(ce)
	if j, ok := inner.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if inner != nil {
		return []error{inner}
	}
	return nil
}

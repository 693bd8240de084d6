package session

import (
	"context"
	"log"
	"net/http"
	"time"
)

// removeTimeout bounds the rollback and release the middleware runs after a
// request, which is detached from the request's own cancellation.
const removeTimeout = 10 * time.Second

// Middleware gives each request its own scope of r and removes it when the
// handler returns, so a request's session never outlives it: handlers get
// it with r.Session(req.Context()), and whatever transaction they leave open
// is rolled back (commit explicitly what should persist).
//
// The scope is removed on every way out, a panic included: the removal is
// deferred, and the panic then goes on to net/http (which logs it and drops
// the connection, or aborts the response for http.ErrAbortHandler). The
// removal runs on a context detached from the request's cancellation (a
// client that went away must not stop the rollback), bounded by 10 s. An
// error from it cannot reach the client any more; it is logged to the
// server's ErrorLog (or the standard logger). The one expected error is
// ErrBusy, from a handler that returned with a stream still open inside its
// transaction: close streams before returning. That session is forgotten
// by r but still tracked by the Maker while it holds its connection, so
// Maker.CloseAll can end it once the stream is gone (the request's context
// ends the stream when the handler returns).
//
// Cost per request: one context value and, if the handler used the session,
// the map insert and delete under r's mutex plus the session's Close (a
// ROLLBACK only if a transaction is still open). Safe for concurrent
// requests; each request's session is for that request's goroutine (start
// a new scope with r.WithScope for goroutines the handler fans out to).
func (r *Scoped) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := r.WithScope(req.Context())
		defer r.removeAfter(ctx, req)
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// removeAfter is the middleware's deferred Remove.
func (r *Scoped) removeAfter(ctx context.Context, req *http.Request) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	if err := r.Remove(ctx); err != nil {
		logf := log.Printf
		if srv, ok := req.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ErrorLog != nil {
			logf = srv.ErrorLog.Printf
		}
		logf("session: removing the scoped session of %s %s: %v", req.Method, req.URL.Path, err)
	}
}

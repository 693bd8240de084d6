package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

var sigTERM os.Signal = syscall.SIGTERM

// hardExitAfter bounds the way out after a signal: the cancel request gets
// cancelGrace, the socket deadline then breaks any read, and the rest
// (closing the connection, removing a temporary file) is quick. Should
// anything still hang past this (a write to a pipe nobody reads, say), the
// process exits anyway.
const hardExitAfter = cancelGrace + 2*time.Second

// signals turns SIGINT and SIGTERM into a cancelled context (which sends
// the server a cancel request through pgconn's handler) and bounds the exit:
// a second SIGINT, or hardExitAfter after the first signal, exits at once
// with the signal's code after removing the temporary output file.
type signals struct {
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan os.Signal
	pipe   chan os.Signal
	done   chan struct{}
	wg     sync.WaitGroup

	mu  sync.Mutex
	got os.Signal
}

// watchSignals starts the watcher goroutine; stop ends it and waits for it.
func watchSignals(parent context.Context, out *sink, stderr io.Writer) *signals {
	s := &signals{ch: make(chan os.Signal, 2), pipe: make(chan os.Signal, 1), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(parent)
	// Notifying SIGPIPE makes a write to a closed stdout fail with EPIPE
	// instead of killing the process.
	signal.Notify(s.pipe, syscall.SIGPIPE)
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watch(out, stderr)
	}()
	return s
}

func (s *signals) watch(out *sink, stderr io.Writer) {
	var first os.Signal
	var deadline <-chan time.Time
	for {
		select {
		case <-s.done:
			return
		case sig := <-s.ch:
			if first == nil {
				first = sig
				s.mu.Lock()
				s.got = sig
				s.mu.Unlock()
				s.cancel()
				deadline = time.After(hardExitAfter)
				continue
			}
			if sig != os.Interrupt {
				continue // a repeated SIGTERM waits for the bounded way out
			}
			out.abort()
			fmt.Fprintln(stderr, "streamcat: interrupted again: exiting at once (a cancel request was sent)")
			os.Exit(exitSIGINT)
		case <-deadline:
			out.abort()
			fmt.Fprintf(stderr, "streamcat: %s (a cancel request was sent; still not done %v later, so exiting without waiting)\n", sigWord(first), hardExitAfter)
			os.Exit(sigCode(first))
		}
	}
}

// received returns the first signal, or nil.
func (s *signals) received() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// stop ends the watcher and restores the default signal handling.
func (s *signals) stop() {
	signal.Stop(s.ch)
	signal.Stop(s.pipe)
	close(s.done)
	s.wg.Wait()
	s.cancel()
}

func sigWord(s os.Signal) string {
	if s == sigTERM {
		return "terminated"
	}
	return "interrupted"
}

func sigCode(s os.Signal) int {
	if s == sigTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

// noAnswerError marks a run whose statement was cancelled (by a signal,
// --timeout or an early end) and whose connection pgconn then dropped
// because the server did not answer within cancelGrace.
type noAnswerError struct{ err error }

func (e *noAnswerError) Error() string { return e.err.Error() }
func (e *noAnswerError) Unwrap() error { return e.err }

// connectCtxError is connecting cut short by a signal or --timeout.
type connectCtxError struct {
	target string
	err    error
}

func (e *connectCtxError) Error() string { return "connect to " + e.target + ": " + e.err.Error() }
func (e *connectCtxError) Unwrap() error { return e.err }

// cancelOutcome says, for the message after a signal or --timeout, what
// became of the statement: cancelled by the server, no answer, or not yet
// connected.
func cancelOutcome(err error) string {
	var pe *pgconn.PgError
	var na *noAnswerError
	var ce *connectCtxError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &na):
		return fmt.Sprintf(" (cancel sent, no answer from server within %v; connection dropped)", cancelGrace)
	case errors.As(err, &pe) && pe.Code == "57014":
		return " (query cancelled)"
	case errors.As(err, &ce):
		return " while connecting to " + ce.target
	}
	return ""
}

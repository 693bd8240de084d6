package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress refresh intervals: a terminal line is redrawn in place a few
// times a second; on a pipe or file (--progress always) a new line is
// printed every few seconds, so a log gets readable lines instead of
// carriage returns.
const (
	terminalRefresh = 250 * time.Millisecond
	logRefresh      = 3 * time.Second
)

// progress shows rows, rows/s, bytes written and elapsed time on stderr.
// The row loop only bumps an atomic counter; a ticker goroutine, owned here
// and waited for in finish, prints, so the hot path pays nothing for it.
type progress struct {
	out      io.Writer
	terminal bool
	rows     *atomic.Int64
	bytes    *countingWriter
	start    time.Time
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// startProgress starts the progress line for --progress mode
// (auto|always|never); nil when there is none.
func startProgress(mode string, stderr io.Writer, rows *atomic.Int64, bytes *countingWriter, start time.Time) *progress {
	terminal := isTerminal(stderr)
	if mode == "never" || (mode == "auto" && !terminal) {
		return nil
	}
	p := &progress{out: stderr, terminal: terminal, rows: rows, bytes: bytes, start: start, stop: make(chan struct{})}
	every := logRefresh
	if terminal {
		every = terminalRefresh
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print(false)
			}
		}
	}()
	return p
}

// print writes the current state: redrawn in place on a terminal, one line
// each time otherwise.
func (p *progress) print(final bool) {
	line := progressLine(p.rows.Load(), p.bytes.n.Load(), time.Since(p.start))
	switch {
	case p.terminal && final:
		fmt.Fprintf(p.out, "\r\x1b[K%s\n", line)
	case p.terminal:
		fmt.Fprintf(p.out, "\r\x1b[K%s", line)
	default:
		fmt.Fprintln(p.out, line)
	}
}

// finish stops the refreshing and leaves the final state on its own line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		p.print(true)
	})
}

// progressLine is e.g. "streamcat: 1,200,000 rows, 400,000 rows/s, 95.3 MiB
// written, 3s elapsed".
func progressLine(rows, bytes int64, el time.Duration) string {
	return fmt.Sprintf("streamcat: %s %s, %s rows/s, %s written, %s elapsed",
		thousands(rows), plural(rows, "row", "rows"), thousands(int64(rate(rows, el))), humanBytes(bytes), el.Round(time.Second))
}

func rate(rows int64, el time.Duration) float64 {
	if el <= 0 {
		return 0
	}
	return float64(rows) / el.Seconds()
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// statsLine is the --stats summary.
func statsLine(rows, bytes int64, el time.Duration) string {
	return fmt.Sprintf("streamcat: %d rows, %d bytes (%s), %s, %.0f rows/s", rows, bytes, humanBytes(bytes), el.Round(time.Millisecond), rate(rows, el))
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

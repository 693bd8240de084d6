package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progress refreshes a status line on stderr at most 4 times a second.
type progress struct {
	out   io.Writer
	rows  *atomic.Int64
	bytes *countingWriter
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// progressWanted decides --progress auto|always|never.
func progressWanted(mode string, stderr io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := stderr.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func startProgress(out io.Writer, rows *atomic.Int64, bytes *countingWriter, start time.Time) *progress {
	p := &progress{out: out, rows: rows, bytes: bytes, start: start, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) draw() {
	el := time.Since(p.start)
	rows := p.rows.Load()
	fmt.Fprintf(p.out, "\r\x1b[K%d rows  %s rows/s  %s  %s", rows, rate(rows, el), humanBytes(p.bytes.n.Load()), el.Round(100*time.Millisecond))
}

// finish stops the refreshing; the last state stays on its own line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		p.draw()
		fmt.Fprintln(p.out)
	})
}

func rate(rows int64, el time.Duration) string {
	if el <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", float64(rows)/el.Seconds())
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
	return fmt.Sprintf("streamcat: %d rows, %d bytes (%s), %s, %s rows/s", rows, bytes, humanBytes(bytes), el.Round(time.Millisecond), rate(rows, el))
}

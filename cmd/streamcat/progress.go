package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows rows, rows/s, bytes written and elapsed time on stderr,
// refreshed at most 4 times a second, with schollz/progressbar (a spinner:
// the row count is not known in advance). The row loop only bumps an atomic
// counter; a ticker goroutine, owned here and waited for in finish, moves
// the bar, so the hot path pays nothing for it.
type progress struct {
	bar   *progressbar.ProgressBar
	rows  *atomic.Int64
	bytes *countingWriter
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

func startProgress(out io.Writer, rows *atomic.Int64, bytes *countingWriter, _ time.Time) *progress {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription("0 B"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
	)
	p := &progress{bar: bar, rows: rows, bytes: bytes, stop: make(chan struct{})}
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
				p.update()
			}
		}
	}()
	return p
}

func (p *progress) update() {
	p.bar.Describe(humanBytes(p.bytes.n.Load()))
	_ = p.bar.Set64(p.rows.Load())
}

// finish stops the refreshing and leaves the final state on its own line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		p.update()
		_ = p.bar.Finish()
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

package stream

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/streamcat/streamcat/buffered"
)

// handle is the Source a stream's cursor holds: it forwards to the producer.
// It exists so the cursor can become unreachable while the producer
// goroutine still runs; see Result and producer.dropped.
type handle struct{ p *producer }

func (h *handle) Next() (*buffered.Block, error) { return h.p.Next() }
func (h *handle) Close()                         { h.p.Close() }
func (h *handle) Recycle(b *buffered.Block)      { h.p.Recycle(b) }
func (h *handle) Interrupt()                     { h.p.Interrupt() }

// dropped is the cleanup of a Result the reader dropped without Close. If
// the producer still runs (blocked on a full channel or on the server), it
// stops it like Close would, so the connection goes back to the pool, and
// reports the bug through Options.OnDropped. It runs on the runtime's
// cleanup goroutine and returns within Options.ExitTimeout.
func (p *producer) dropped() {
	select {
	case <-p.fin:
		return // it ended by itself: nothing held
	default:
	}
	p.Close()
	// the names were kept at Open: once Close has given the connection back,
	// its rows belong to whoever took it next
	err := fmt.Errorf("%w (columns: %s)", ErrDropped, strings.Join(p.cols, ", "))
	if p.opts.OnDropped != nil {
		p.opts.OnDropped(err)
		return
	}
	slog.Warn(err.Error())
}

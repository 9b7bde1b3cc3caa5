package router

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/tail"
	"github.com/silo-dev/silo/internal/lib/token"
)

// streamItem is an event found after a stream's position: its id, and the
// event to send (nil: not for this caller, passed over).
type streamItem struct {
	id int64
	ev *sseEvent
}

// eventSource is what one stream follows: one plane's events, as one
// caller may see them.
type eventSource interface {
	// bounds are the ids of the oldest event kept and of the newest, and
	// how ids step.
	bounds(ctx context.Context) (central.EventBounds, error)
	// fetch returns up to limit events with an id above after, in order.
	fetch(ctx context.Context, after int64, limit int) ([]streamItem, error)
	// check checks the caller again: "" while the stream may go on, else
	// why it ends.
	check(ctx context.Context) string
}

const (
	streamBatch   = 100             // events read at once
	streamTimeout = 5 * time.Second // one read or check
	streamRetry   = 3 * time.Second // the client's reconnection delay
)

// helloData is the first event of every stream (no id field when
// resumed, so the client's last id stays; a fresh stream's hello carries
// the position it starts at, so that a reconnection misses nothing).
type helloData struct {
	Resumed bool `json:"resumed" doc:"the stream goes on after the client's Last-Event-ID"`
	// Missed: events after the client's id may be gone (pruned after the
	// retention): reload what the page shows.
	Missed bool `json:"missed"`
}

// endData is the last event of a stream the server ends.
type endData struct {
	Reason string `json:"reason" enum:"expired,revoked,tenant-unavailable,shutdown"`
}

// stream runs an event stream for caller (counted against its limit)
// until the client leaves, its credential raw expires or is revoked, or
// the instance shuts down.
func (h *handlers) stream(c *gin.Context, src eventSource, caller, raw string) {
	ctx := c.Request.Context()
	resume, resumed, err := lastEventID(c)
	if err != nil {
		Fail(c, err)
		return
	}
	release, err := h.streams.acquire(caller)
	if err != nil {
		Fail(c, err)
		return
	}
	defer release()
	bctx, cancel := context.WithTimeout(ctx, streamTimeout)
	b, err := src.bounds(bctx)
	cancel()
	if err != nil {
		Fail(c, err)
		return
	}
	pos, missed := startAt(b, resume, resumed)
	w := newSSEWriter(c.Writer, h.streams.opts.WriteTimeout)
	if err := w.start(streamRetry); err != nil {
		return
	}
	hello := sseEvent{ID: strconv.FormatInt(pos, 10), Type: "hello", At: clock.Now(), Data: helloData{Resumed: resumed, Missed: missed}}
	if err := w.event(hello, !resumed); err != nil || w.flush() != nil {
		return
	}
	h.follow(c, w, src, tail.New(pos, b.Step, h.streams.opts.Grace), raw)
}

// startAt is where a stream starts: after the newest event for a fresh
// stream, after the client's id for a resumed one; missed when events
// after that id may be gone (or the id is from the future).
func startAt(b central.EventBounds, resume int64, resumed bool) (int64, bool) {
	switch {
	case !resumed:
		return b.Newest, false
	case resume > b.Newest:
		return b.Newest, true
	case b.Oldest > 0 && resume < b.Oldest-1:
		return b.Oldest - 1, true
	}
	return resume, false
}

// follow sends the source's events as they come, a heartbeat comment
// every Heartbeat, and ends the stream with an end event when the
// credential expires or a check fails, or at shutdown.
func (h *handlers) follow(c *gin.Context, w *sseWriter, src eventSource, cur *tail.Cursor, raw string) {
	ctx, o := c.Request.Context(), h.streams.opts
	poll, recheck, ping := time.NewTicker(o.Poll), time.NewTicker(o.Recheck), time.NewTicker(o.Heartbeat)
	defer poll.Stop()
	defer recheck.Stop()
	defer ping.Stop()
	var expired <-chan time.Time
	if exp, ok := token.ExpiryOf(raw); ok {
		t := time.NewTimer(time.Until(exp))
		defer t.Stop()
		expired = t.C
	}
	for {
		reason := ""
		select {
		case <-ctx.Done():
			return
		case <-h.streams.done:
			reason = "shutdown"
		case <-expired:
			reason = "expired"
		case <-recheck.C:
			cctx, cancel := context.WithTimeout(ctx, streamTimeout)
			reason = src.check(cctx)
			cancel()
		case <-ping.C:
			w.comment("ping")
		case <-poll.C:
			if err := deliver(ctx, w, src, cur); err != nil && ctx.Err() == nil {
				logFrom(c).WarnContext(ctx, "reading events failed; the stream goes on", "err", err)
			}
		}
		if reason != "" {
			_ = w.event(sseEvent{ID: strconv.FormatInt(cur.Pos(), 10), Type: "end", At: clock.Now(), Data: endData{Reason: reason}}, false)
			_ = w.flush()
			return
		}
		if err := w.flush(); err != nil {
			return // the client stopped reading
		}
	}
}

// deliver queues the events after the cursor that may go out now, batch
// after batch.
func deliver(ctx context.Context, w *sseWriter, src eventSource, cur *tail.Cursor) error {
	for {
		fctx, cancel := context.WithTimeout(ctx, streamTimeout)
		items, err := src.fetch(fctx, cur.Pos(), streamBatch)
		cancel()
		if err != nil {
			return err
		}
		ids := make([]int64, len(items))
		for i, it := range items {
			ids[i] = it.id
		}
		n := cur.Take(ids, time.Now())
		for _, it := range items[:n] {
			if it.ev != nil {
				if err := w.event(*it.ev, true); err != nil {
					return err
				}
			}
		}
		if n < streamBatch {
			return nil
		}
		if w.flush() != nil {
			return nil // follow's next flush says so
		}
	}
}

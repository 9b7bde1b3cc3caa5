package router

import (
	"sync"
	"time"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// StreamOptions bound the live event streams of one instance (GET
// /api/central/events and GET /api/events). The zero value is the
// defaults.
type StreamOptions struct {
	PerCaller int           // streams open at once per caller on this instance (default 5; 429 beyond)
	Poll      time.Duration // how often a stream reads new events (default 1s)
	Recheck   time.Duration // how often it checks the caller (and tenant) again (default 5s)
	Heartbeat time.Duration // the ": ping" comment of an idle stream (default 15s)
	// Grace is how long a stream waits at a gap in the event ids for a
	// transaction that took an id to commit (default 10s; see
	// internal/lib/tail).
	Grace time.Duration
	// WriteTimeout bounds one write to the client (default 10s).
	WriteTimeout time.Duration
}

func (o *StreamOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.PerCaller <= 0 {
		o.PerCaller = 5
	}
	def(&o.Poll, time.Second)
	def(&o.Recheck, 5*time.Second)
	def(&o.Heartbeat, 15*time.Second)
	def(&o.Grace, 10*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
}

// Streams are an instance's open event streams: it counts them per caller
// and ends them all at shutdown (Close). The streams themselves run in
// their requests' handlers, whose server waits for them.
type Streams struct {
	opts StreamOptions

	mu     sync.Mutex
	open   map[string]int // by caller
	closed bool
	done   chan struct{} // closed by Close
}

// NewStreams returns the streams of an instance, bounded by o.
func NewStreams(o StreamOptions) *Streams {
	o.defaults()
	return &Streams{opts: o, open: map[string]int{}, done: make(chan struct{})}
}

// Errors of the stream routes.
var (
	errTooManyStreams = &apperr.Error{Kind: apperr.RateLimited, Code: "TOO_MANY_STREAMS",
		Message: "Too many event streams are open for this caller; close one first", RetryAfter: 10}
	errShuttingDown = &apperr.Error{Kind: apperr.Unavailable, Code: "SHUTTING_DOWN",
		Message: "This instance is shutting down; reconnect", RetryAfter: 1}
)

// acquire counts a new stream of caller, or refuses it; release it when
// the stream ends.
func (s *Streams) acquire(caller string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, errShuttingDown
	case s.open[caller] >= s.opts.PerCaller:
		return nil, errTooManyStreams
	}
	s.open[caller]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[caller]--; s.open[caller] <= 0 {
				delete(s.open, caller)
			}
		})
	}, nil
}

// Close ends every open stream (each sends an end event, reason
// "shutdown") and refuses new ones with 503 SHUTTING_DOWN. It does not
// wait: the HTTP server's Shutdown waits for the handlers, which return
// at once. Register it with http.Server.RegisterOnShutdown.
func (s *Streams) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

// Open is the number of streams open.
func (s *Streams) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.open {
		n += c
	}
	return n
}

package docexamples_test

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// served is what Silo's log says about one request: its route (the
// router's pattern; "" when no route matched), its status and the code of
// its error envelope.
type served struct {
	Method, Route, Code string
	Status              int
}

// servedLog is a slog.Handler that keeps, by request id, what Silo logs of
// each request: the access line ("http request") and the code of a refused
// or failed request (router.Fail).
type servedLog struct {
	shared *servedRequests
	attrs  []slog.Attr
}

type servedRequests struct {
	mu   sync.Mutex
	byID map[string]*served
	done map[string]bool // the access line was written
}

func newServedLog() *servedLog {
	return &servedLog{shared: &servedRequests{byID: map[string]*served{}, done: map[string]bool{}}}
}

func (l *servedLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *servedLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &servedLog{shared: l.shared, attrs: append(append([]slog.Attr(nil), l.attrs...), attrs...)}
}

func (l *servedLog) WithGroup(string) slog.Handler { return l }

func (l *servedLog) Handle(_ context.Context, r slog.Record) error {
	fields := map[string]slog.Value{}
	for _, a := range l.attrs {
		fields[a.Key] = a.Value
	}
	r.Attrs(func(a slog.Attr) bool {
		fields[a.Key] = a.Value
		return true
	})
	str := func(key string) string {
		if v, ok := fields[key]; ok {
			return v.String()
		}
		return ""
	}
	id := str("requestId")
	if id == "" {
		return nil
	}
	s := l.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		e = &served{}
		s.byID[id] = e
	}
	switch {
	case r.Message == "http request":
		e.Method, e.Route, e.Status = str("method"), str("route"), int(fields["status"].Int64())
		s.done[id] = true
	case str("code") != "":
		e.Code = str("code")
	}
	return nil
}

// request returns what was logged of request id once its access line is
// written (Silo writes it after the answer, so it may come a moment after
// the client has read the answer); false if it never comes.
func (l *servedLog) request(id string) (served, bool) {
	for range 1000 {
		l.shared.mu.Lock()
		e, done := l.shared.byID[id], l.shared.done[id]
		l.shared.mu.Unlock()
		if done {
			return *e, true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return served{}, false
}

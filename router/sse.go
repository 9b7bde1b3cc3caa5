package router

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sseEvent is one event of a stream, as its data line carries it.
type sseEvent struct {
	ID     string    `json:"id" doc:"the event's id, also its SSE id: resume after it with Last-Event-ID"`
	Type   string    `json:"type" enum:"hello,tenant.status,migration.progress,audit,end"`
	Tenant string    `json:"tenant,omitempty" doc:"the slug of the tenant it is about"`
	At     time.Time `json:"at"`
	Data   any       `json:"data"`
}

// sseWriter writes a text/event-stream: each write is bounded by
// timeout (a client that stops reading is dropped) and flushed.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     bytes.Buffer
	err     error // the first failed write: every later flush fails too
}

func newSSEWriter(w http.ResponseWriter, timeout time.Duration) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// start sends the stream's headers and the client's reconnection delay.
// The server's write deadline (http.Server's WriteTimeout, counted from
// the request) would end the stream: each flush sets its own. (Its read
// deadline does not: net/http lifts it once a bodiless request is read.)
func (s *sseWriter) start(retry time.Duration) error {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // a buffering proxy (nginx) would hold the events back
	s.w.WriteHeader(http.StatusOK)
	s.buf.WriteString("retry: " + strconv.FormatInt(retry.Milliseconds(), 10) + "\n\n")
	return s.flush()
}

// event queues ev, with an id field when withID (without, the client's
// last id stays).
func (s *sseWriter) event(ev sseEvent, withID bool) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if withID {
		s.buf.WriteString("id: " + ev.ID + "\n")
	}
	s.buf.WriteString("event: " + ev.Type + "\n")
	// encoding/json escapes newlines inside strings; a data line never
	// holds a raw one, but stay safe should that change.
	for _, line := range strings.Split(string(data), "\n") {
		s.buf.WriteString("data: " + line + "\n")
	}
	s.buf.WriteString("\n")
	return nil
}

// comment queues a comment line (a heartbeat).
func (s *sseWriter) comment(text string) { s.buf.WriteString(": " + text + "\n\n") }

// flush writes what is queued and pushes it to the client.
func (s *sseWriter) flush() error {
	if s.err != nil || s.buf.Len() == 0 {
		return s.err
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout)) // not every writer has deadlines (tests' recorders)
	_, s.err = s.w.Write(s.buf.Bytes())
	s.buf.Reset()
	if s.err == nil {
		s.err = s.rc.Flush()
	}
	return s.err
}

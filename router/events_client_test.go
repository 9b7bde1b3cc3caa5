package router_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseMsg is one message of an event stream: an event or a comment.
type sseMsg struct {
	ID, Event, Comment string
	HasID              bool
	Data               map[string]any // the data line, decoded
}

// payload is the event's data field (the JSON envelope's "data").
func (m sseMsg) payload() map[string]any {
	d, _ := m.Data["data"].(map[string]any)
	return d
}

// sseStream is an open event stream, read by a goroutine of its own that
// Close stops and waits for.
type sseStream struct {
	res    *http.Response
	cancel context.CancelFunc
	msgs   chan sseMsg
	done   chan struct{}
}

// wait bounds every wait for a stream's message: a broken stream fails
// the test instead of hanging it.
const wait = 30 * time.Second

// openStream sends GET url with the headers (name, value pairs) and, on
// 200, reads its messages until Close; for another status it returns the
// answer's status and body with a nil stream.
func openStream(t testing.TB, url string, headers ...string) (*sseStream, int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headerMap(headers) {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		return nil, res.StatusCode, string(body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q, want text/event-stream", ct)
	}
	s := &sseStream{res: res, cancel: cancel, msgs: make(chan sseMsg, 1000), done: make(chan struct{})}
	go s.read(t)
	t.Cleanup(s.Close)
	return s, res.StatusCode, ""
}

// read parses the stream into s.msgs, which it closes at the stream's end.
func (s *sseStream) read(t testing.TB) {
	defer close(s.done)
	defer close(s.msgs)
	sc := bufio.NewScanner(s.res.Body)
	var m sseMsg
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if m.Event != "" || m.Comment != "" {
				s.msgs <- m
			}
			m = sseMsg{}
		case strings.HasPrefix(line, ": "):
			m.Comment = strings.TrimPrefix(line, ": ")
		case strings.HasPrefix(line, "id: "):
			m.ID, m.HasID = strings.TrimPrefix(line, "id: "), true
		case strings.HasPrefix(line, "event: "):
			m.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m.Data); err != nil {
				t.Errorf("data line %q: %v", line, err)
			}
		case strings.HasPrefix(line, "retry: "):
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
}

// Close ends the stream from the client's side and waits for its reader.
func (s *sseStream) Close() {
	s.cancel()
	<-s.done
	s.res.Body.Close()
}

// next returns the next message that is not a comment; it fails t when
// the stream ends first or none comes within wait.
func (s *sseStream) next(t testing.TB) sseMsg {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				t.Fatal("the stream ended")
			}
			if m.Comment == "" {
				return m
			}
		case <-timer.C:
			t.Fatalf("no event within %v", wait)
		}
	}
}

// until returns the events up to and including the first that match
// accepts; it fails t if the stream ends first.
func (s *sseStream) until(t testing.TB, match func(sseMsg) bool) []sseMsg {
	t.Helper()
	var out []sseMsg
	for {
		m := s.next(t)
		out = append(out, m)
		if match(m) {
			return out
		}
	}
}

// ended waits for the stream's end: the messages it got on the way.
func (s *sseStream) ended(t testing.TB) []sseMsg {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var out []sseMsg
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				return out
			}
			out = append(out, m)
		case <-timer.C:
			t.Fatalf("the stream did not end within %v (got %d messages)", wait, len(out))
		}
	}
}

// isEvent matches an event of type typ whose data field key is value.
func isEvent(typ, key, value string) func(sseMsg) bool {
	return func(m sseMsg) bool { return m.Event == typ && (key == "" || m.payload()[key] == value) }
}

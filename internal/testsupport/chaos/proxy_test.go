//go:build chaos

package chaos

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// proxy forwards TCP connections to a MySQL server and can hold back the
// next client statement that starts with a given text (a COM_QUERY packet:
// Silo's DSNs interpolate parameters, so every statement is one), as a
// network that loses it for a while would. It understands the MySQL packet
// framing only, which is enough without TLS or compression.
type proxy struct {
	t       *testing.T
	ln      net.Listener
	backend string

	mu      sync.Mutex
	prefix  string        // statement to hold; "" when disarmed
	hold    time.Duration // how long to hold it
	held    chan string   // receives the statement when one is held
	conns   []net.Conn
	stopped bool
}

// startProxy forwards 127.0.0.1:<free port> to backend until the test ends.
func startProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, backend: backend}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// holdNext arms the proxy: the next statement starting with prefix (case
// insensitive) is forwarded only after d; the returned channel receives it
// once it is being held.
func (p *proxy) holdNext(prefix string, d time.Duration) <-chan string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefix, p.hold, p.held = strings.ToUpper(prefix), d, make(chan string, 1)
	return p.held
}

// match disarms the proxy and returns the hold if query is the awaited one.
func (p *proxy) match(query string) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prefix == "" || !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(query)), p.prefix) {
		return 0, false
	}
	p.prefix = ""
	p.held <- query
	return p.hold, true
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			c.Close()
			b.Close()
			return
		}
		p.conns = append(p.conns, c, b)
		p.mu.Unlock()
		go func() {
			_, _ = io.Copy(c, b)
			c.Close()
			b.Close()
		}()
		go func() {
			p.forward(b, c)
			c.Close()
			b.Close()
		}()
	}
}

// forward copies client packets to the server, holding back the awaited
// statement.
func (p *proxy) forward(server, client net.Conn) {
	header := make([]byte, 4)
	for {
		if _, err := io.ReadFull(client, header); err != nil {
			return
		}
		n := int(binary.LittleEndian.Uint32(append(header[:3:3], 0)))
		payload := make([]byte, n)
		if _, err := io.ReadFull(client, payload); err != nil {
			return
		}
		if n > 1 && payload[0] == 0x03 { // COM_QUERY
			if d, ok := p.match(string(payload[1:])); ok {
				time.Sleep(d)
			}
		}
		if _, err := server.Write(append(header, payload...)); err != nil {
			return
		}
	}
}

func (p *proxy) close() {
	p.mu.Lock()
	p.stopped = true
	conns := p.conns
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}

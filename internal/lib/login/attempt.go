package login

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// Login throttling (docs/SECURITY.md, "Login throttling, anonymous work and
// sign-up"). Only failures count, in three budgets checked before any
// lookup or bcrypt:
//
//   - per client IP (all accounts): PerIPPerMinute failures a minute;
//   - per client IP and account: PerEmailPerMinute failures a minute, so a
//     client that keeps failing at one account is stopped there, even with
//     the right password;
//   - per account from every IP together: AccountFailures failures, then an
//     exponential back-off (1 s, 2 s, 4 s … 15 min) during which attempts
//     are refused, so a guess spread over many addresses is still throttled.
//
// A client IP from which the account logged in successfully (within
// knownClientTTL) is exempt from the account back-off, but not from its own
// two budgets: strangers cannot lock the owner out from where they usually
// log in, and a new IP, which the attacker could also be using, waits.

// knownClientTTL is how long a successful login exempts its IP from the
// account back-off.
const knownClientTTL = 30 * 24 * time.Hour

// knownClients remembers (account, IP) pairs that logged in, in memory.
type knownClients struct {
	mu   sync.Mutex
	max  int
	ttl  time.Duration
	seen map[string]time.Time
}

func newKnownClients(maxKeys int, ttl time.Duration) *knownClients {
	return &knownClients{max: maxKeys, ttl: ttl, seen: map[string]time.Time{}}
}

func (k *knownClients) has(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.seen[key]
	return ok && time.Since(at) < k.ttl
}

func (k *knownClients) add(key string) {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.seen[key]; !ok && len(k.seen) >= k.max {
		for key, at := range k.seen {
			if now.Sub(at) >= k.ttl {
				delete(k.seen, key)
			}
		}
		// Still full: forget an arbitrary tenth (its owners lose only the
		// exemption, never access).
		for key := range k.seen {
			if len(k.seen) < k.max*9/10 {
				break
			}
			delete(k.seen, key)
		}
	}
	k.seen[key] = now
}

// ticket is one admitted login attempt; settle it with exactly one of
// failed, succeeded or cancel.
type ticket struct {
	g                      *Guard
	ip, pair, account, key string
	counted                bool // admitted by the account back-off
}

// admit takes the attempt's share of the three budgets, or refuses it.
// Junk (not an email, so no guess at any account) skips the account
// back-off: locking the one account all junk shares would guard nothing.
func (g *Guard) admit(ip, account string, junk bool) (*ticket, error) {
	t := &ticket{g: g, ip: ip, pair: ip + "\x00" + account, account: account, key: account + "\x00" + ip}
	if ok, wait := g.perIP.Take(ip); !ok {
		return nil, rateLimited(wait)
	}
	if ok, wait := g.perPair.Take(t.pair); !ok {
		g.perIP.Refund(ip)
		return nil, rateLimited(wait)
	}
	if !junk && !g.known.has(t.key) {
		if ok, wait := g.account.Take(account); !ok {
			g.perIP.Refund(ip)
			g.perPair.Refund(t.pair)
			return nil, rateLimited(wait)
		}
		t.counted = true
	}
	return t, nil
}

func (t *ticket) failed() {
	if t.counted {
		t.g.account.Done(t.account, true)
	}
}

func (t *ticket) cancel() {
	t.g.perIP.Refund(t.ip)
	t.g.perPair.Refund(t.pair)
	if t.counted {
		t.g.account.Done(t.account, false)
	}
}

func (t *ticket) succeeded() {
	t.cancel()
	t.g.known.add(t.key)
}

// Attempt runs the login protocol shared by both planes: required fields,
// the 72-byte limit, the failure budgets above (accounts are named under
// scope, e.g. a tenant, so that one tenant's user cannot exhaust another's
// budget), the lookup, and a password check that costs the same for
// unknown emails. lookup returns the stored hash, or found=false. On
// success, a hash made at another cost is re-made at the current one and
// handed to upgrade (best effort: a failure only delays the upgrade).
func (g *Guard) Attempt(ctx context.Context, clientIP, scope, rawEmail, password string,
	lookup func(email string) (hash string, found bool, err error), upgrade func(hash string) error) error {
	var v apperr.Validator
	v.Check(rawEmail != "", "email", "is required")
	v.Check(password != "", "password", "is required")
	v.Check(len(password) <= MaxPasswordBytes, "password", "must be at most 72 bytes")
	if err := v.Err(); err != nil {
		return err
	}
	email, ok := NormalizeEmail(rawEmail)
	account := scope + "/" + email
	if !ok {
		// Not an address anyone can have registered: such attempts share
		// one account (so junk cannot grow the limiters' memory) and fail
		// without a bcrypt, which would hide nothing the sender does not
		// know.
		account = scope + "/"
	}
	t, err := g.admit(clientIP, account, !ok)
	if err != nil {
		return err
	}
	if !ok {
		t.failed()
		return ErrInvalidCredentials
	}
	hash, found, err := lookup(email)
	if err != nil {
		t.cancel()
		return err
	}
	rehash, err := g.Verify(ctx, hash, found, password)
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		t.failed()
		return err
	case err != nil:
		t.cancel()
		return err
	}
	t.succeeded()
	if rehash {
		if h, err := g.Hash(ctx, password); err == nil {
			_ = upgrade(h)
		}
	}
	return nil
}

// AllowSignup applies the sign-up limits (per client IP and per tenant);
// call it before any other work on an anonymous sign-up.
func (g *Guard) AllowSignup(ctx context.Context, clientIP, tenant string) error {
	if ok, wait := g.signupIP.Allow(clientIP); !ok {
		return g.refuse(ctx, wait)
	}
	if ok, wait := g.signupTn.Allow(tenant); !ok {
		return g.refuse(ctx, wait)
	}
	return nil
}

// AllowAccept applies the per-IP limit on invitation acceptances; call it
// before any other work on one.
func (g *Guard) AllowAccept(ctx context.Context, clientIP string) error {
	if ok, wait := g.acceptIP.Allow(clientIP); !ok {
		return g.refuse(ctx, wait)
	}
	return nil
}

// Tarpit: a refused sign-up or acceptance is answered after a pause of up
// to tarpitMax (never longer than its Retry-After, nor than the request may
// run), so that a client hammering the route gets a few answers a second
// instead of thousands, each of which would cost CPU that logins need. At
// most tarpitSlots requests are held at once; beyond that the answer is
// immediate, so the pause never holds unbounded resources.
const (
	tarpitMax   = time.Second
	tarpitSlots = 4096
)

func (g *Guard) refuse(ctx context.Context, wait time.Duration) error {
	if g.tarpit.TryAcquire(1) {
		t := time.NewTimer(min(wait, tarpitMax))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		g.tarpit.Release(1)
	}
	return rateLimited(wait)
}

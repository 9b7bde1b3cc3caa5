package login

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/semaphore"

	"github.com/silo-dev/silo/internal/apperr"
	"github.com/silo-dev/silo/internal/ratelimit"
)

// ErrInvalidCredentials is the one answer to a wrong email or password.
var ErrInvalidCredentials = apperr.New(apperr.Unauthenticated, "INVALID_CREDENTIALS", "Invalid email or password")

// Guard hashes and checks passwords. bcrypt work is bounded by a semaphore
// of one slot per CPU so that a login flood queues instead of starving every
// other request of CPU.
type Guard struct {
	cost    int
	slots   *semaphore.Weighted
	perIP   *ratelimit.Keyed
	perMail *ratelimit.Keyed

	dummyOnce sync.Once
	dummy     []byte
}

// GuardOptions configure a Guard.
type GuardOptions struct {
	Cost              int // bcrypt cost
	PerIPPerMinute    int
	PerEmailPerMinute int
}

// NewGuard returns a Guard.
func NewGuard(o GuardOptions) *Guard {
	return &Guard{
		cost:    o.Cost,
		slots:   semaphore.NewWeighted(int64(bcryptSlots())),
		perIP:   ratelimit.PerMinute(o.PerIPPerMinute, 100_000),
		perMail: ratelimit.PerMinute(o.PerEmailPerMinute, 100_000),
	}
}

// bcryptSlots is how many bcrypt computations run at once: one per CPU but
// one, so that a login flood always leaves a CPU to the other routes (on a
// 2-CPU machine a reader's p99 during a 1,000-login flood went from 60-84 ms
// to 5.4-5.7 ms: go run ./cmd/silo-load -scenario flood).
func bcryptSlots() int { return max(1, runtime.GOMAXPROCS(0)-1) }

var errPasswordTooLong = apperr.Validation(apperr.FieldError{Field: "password", Message: "must be at most 72 bytes"})

// Hash bcrypt-hashes a password that passed CheckNewPassword.
func (g *Guard) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", errPasswordTooLong
	}
	if err := g.acquire(ctx); err != nil {
		return "", err
	}
	defer g.slots.Release(1)
	h, err := bcrypt.GenerateFromPassword([]byte(password), g.cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// Allow applies the per-IP and per-email login rate limits. Call it before
// looking the email up, so that limited attempts cost no database work.
func (g *Guard) Allow(ip, email string) error {
	if ok, wait := g.perIP.Allow(ip); !ok {
		return rateLimited(wait)
	}
	if ok, wait := g.perMail.Allow(email); !ok {
		return rateLimited(wait)
	}
	return nil
}

// Verify checks password against hash. With found false (no such user) it
// compares against a dummy hash of the same cost, so unknown emails take as
// long as wrong passwords. It returns ErrInvalidCredentials on any mismatch,
// and reports whether hash should be upgraded to the current cost.
func (g *Guard) Verify(ctx context.Context, hash string, found bool, password string) (rehash bool, err error) {
	if len(password) > MaxPasswordBytes {
		return false, errPasswordTooLong
	}
	h := []byte(hash)
	if !found {
		h = g.dummyHash()
	}
	if err := g.acquire(ctx); err != nil {
		return false, err
	}
	cmp := bcrypt.CompareHashAndPassword(h, []byte(password))
	g.slots.Release(1)
	if cmp != nil || !found {
		return false, ErrInvalidCredentials
	}
	cost, err := bcrypt.Cost(h)
	return err == nil && cost != g.cost, nil
}

// Warm computes the dummy hash now rather than on the first unknown email.
func (g *Guard) Warm() { g.dummyHash() }

func (g *Guard) dummyHash() []byte {
	g.dummyOnce.Do(func() {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		g.dummy, _ = bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(b)), g.cost)
	})
	return g.dummy
}

// acquire waits for a bcrypt slot while ctx lives; a caller whose deadline
// passes in the queue is told to retry shortly.
func (g *Guard) acquire(ctx context.Context) error {
	if err := g.slots.Acquire(ctx, 1); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return ctx.Err()
		}
		return rateLimited(time.Second)
	}
	return nil
}

func rateLimited(wait time.Duration) error {
	e := apperr.New(apperr.RateLimited, "RATE_LIMITED", "Too many attempts, retry later")
	e.RetryAfter = int(math.Ceil(wait.Seconds()))
	if e.RetryAfter < 1 {
		e.RetryAfter = 1
	}
	return e
}

// Attempt runs the login protocol shared by both planes: required fields,
// the 72-byte limit, per-IP and per-email rate limits (emails are counted
// under scope, e.g. a tenant, so that one tenant's user cannot exhaust
// another's budget), the lookup, and a password check that costs the same
// for unknown emails. lookup returns the stored hash, or found=false. On
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
	bucket := scope + "/" + email
	if !ok {
		// Not an address anyone can have registered: answer as for a wrong
		// password, after the same work. Such attempts share one email
		// bucket so that junk input cannot grow the limiter's memory.
		bucket = scope + "/"
	}
	if err := g.Allow(clientIP, bucket); err != nil {
		return err
	}
	hash, found := "", false
	if ok {
		var err error
		if hash, found, err = lookup(email); err != nil {
			return err
		}
	}
	rehash, err := g.Verify(ctx, hash, found, password)
	if err != nil {
		return err
	}
	if rehash {
		if h, err := g.Hash(ctx, password); err == nil {
			_ = upgrade(h)
		}
	}
	return nil
}

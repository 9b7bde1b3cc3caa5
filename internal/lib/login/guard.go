package login

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/semaphore"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/ratelimit"
)

// ErrInvalidCredentials is the one answer to a wrong email or password.
var ErrInvalidCredentials = apperr.New(apperr.Unauthenticated, "INVALID_CREDENTIALS", "Invalid email or password")

// Guard hashes and checks passwords. bcrypt work is bounded by a semaphore
// of one slot per CPU so that a login flood queues instead of starving every
// other request of CPU, and anonymous work is throttled before it costs a
// bcrypt: see Attempt for logins, AllowSignup and AllowAccept for the rest.
type Guard struct {
	cost     int
	slots    *semaphore.Weighted
	perIP    *ratelimit.Failures // failed logins per client IP
	perPair  *ratelimit.Failures // failed logins per client IP and account
	account  *ratelimit.Backoff  // failed logins per account, from everywhere
	known    *knownClients       // (account, IP) pairs that logged in
	signupIP *ratelimit.Keyed
	signupTn *ratelimit.Keyed
	acceptIP *ratelimit.Keyed
	tarpit   *semaphore.Weighted // refused sign-ups and acceptances held
	bcrypts  atomic.Int64

	dummyOnce sync.Once
	dummy     []byte
}

// GuardOptions configure a Guard.
type GuardOptions struct {
	Cost int // bcrypt cost
	// PerIPPerMinute is the failed logins allowed per client IP, and also
	// the sign-ups and invitation acceptances (each counted apart).
	PerIPPerMinute int
	// PerEmailPerMinute is the failed logins allowed per account (email in
	// its scope) from one client IP.
	PerEmailPerMinute int
	// AccountFailures is how many failed logins one account takes from all
	// IPs together before each further one backs off exponentially
	// (default 10).
	AccountFailures int
	// SignupPerTenantPerMinute is the sign-ups allowed per tenant (default 30).
	SignupPerTenantPerMinute int
}

const maxLimiterKeys = 100_000

// NewGuard returns a Guard.
func NewGuard(o GuardOptions) *Guard {
	if o.AccountFailures < 1 {
		o.AccountFailures = 10
	}
	if o.SignupPerTenantPerMinute < 1 {
		o.SignupPerTenantPerMinute = 30
	}
	return &Guard{
		cost:     o.Cost,
		slots:    semaphore.NewWeighted(int64(bcryptSlots())),
		perIP:    ratelimit.NewFailures(o.PerIPPerMinute, maxLimiterKeys),
		perPair:  ratelimit.NewFailures(o.PerEmailPerMinute, maxLimiterKeys),
		account:  ratelimit.NewBackoff(o.AccountFailures, maxLimiterKeys),
		known:    newKnownClients(maxLimiterKeys, knownClientTTL),
		signupIP: ratelimit.PerMinute(o.PerIPPerMinute, maxLimiterKeys),
		signupTn: ratelimit.PerMinute(o.SignupPerTenantPerMinute, maxLimiterKeys),
		acceptIP: ratelimit.PerMinute(o.PerIPPerMinute, maxLimiterKeys),
		tarpit:   semaphore.NewWeighted(tarpitSlots),
	}
}

// bcryptSlots is how many bcrypt computations run at once: one per CPU but
// one, so that a login flood always leaves a CPU to the other routes (on a
// 2-CPU machine a reader's p99 during a 1,000-login flood went from 60-84 ms
// to 5.4-5.7 ms: go run ./cmd/silo-load -scenario flood).
func bcryptSlots() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// BcryptRuns is how many bcrypt computations (hashes and checks) the Guard
// has run for requests (hashes and password checks).
func (g *Guard) BcryptRuns() int64 { return g.bcrypts.Load() }

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
	g.bcrypts.Add(1)
	h, err := bcrypt.GenerateFromPassword([]byte(password), g.cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
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
	g.bcrypts.Add(1)
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
		g.dummy, _ = bcrypt.GenerateFromPassword([]byte(rand.Text()), g.cost)
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

package login_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/login"
)

const ownerPassword = "the owner's password"

// account is one stored account for Attempt, counting its lookups.
type account struct {
	hash    string
	lookups atomic.Int64
}

func newAccount(tb testing.TB, g *login.Guard) *account {
	tb.Helper()
	h, err := g.Hash(context.Background(), ownerPassword)
	if err != nil {
		tb.Fatal(err)
	}
	return &account{hash: h}
}

func (a *account) lookup(email string) (string, bool, error) {
	a.lookups.Add(1)
	if email == "owner@example.com" {
		return a.hash, true, nil
	}
	return "", false, nil
}

func (a *account) try(g *login.Guard, ip, email, password string) error {
	return g.Attempt(context.Background(), ip, "tenant:acme", email, password, a.lookup, func(string) error { return nil })
}

func isLimited(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e) && e.Code == "RATE_LIMITED" && e.RetryAfter >= 1
}

// Only failures use the budgets: a client that logs in correctly again and
// again is never limited.
func TestAttemptSuccessesAreFree(t *testing.T) {
	t.Parallel()
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 2, PerEmailPerMinute: 2, AccountFailures: 2})
	a := newAccount(t, g)
	for i := range 20 {
		if err := a.try(g, "192.0.2.1", "owner@example.com", ownerPassword); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
}

// A client IP that keeps failing is refused, for every account and even
// with a right password, before any lookup or bcrypt; other IPs are not.
func TestAttemptPerIP(t *testing.T) {
	t.Parallel()
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 3, PerEmailPerMinute: 100})
	a := newAccount(t, g)
	for i := range 3 {
		if err := a.try(g, "192.0.2.1", fmt.Sprintf("user%d@example.com", i), "wrong password"); !errors.Is(err, login.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	lookups, runs := a.lookups.Load(), g.BcryptRuns()
	if err := a.try(g, "192.0.2.1", "owner@example.com", ownerPassword); !isLimited(err) {
		t.Fatalf("throttled IP, right password: %v, want RATE_LIMITED", err)
	}
	if a.lookups.Load() != lookups || g.BcryptRuns() != runs {
		t.Error("a refused attempt looked the email up or ran bcrypt")
	}
	if err := a.try(g, "192.0.2.2", "owner@example.com", ownerPassword); err != nil {
		t.Fatalf("another IP: %v", err)
	}
}

// A client that keeps failing at one account is refused there (even with
// the right password) but not at other accounts, and not the owner
// elsewhere.
func TestAttemptPerIPAndAccount(t *testing.T) {
	t.Parallel()
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 100, PerEmailPerMinute: 2})
	a := newAccount(t, g)
	for range 2 {
		if err := a.try(g, "198.51.100.1", "owner@example.com", "wrong password"); !errors.Is(err, login.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if err := a.try(g, "198.51.100.1", "owner@example.com", ownerPassword); !isLimited(err) {
		t.Fatalf("right password from the failing client: %v, want RATE_LIMITED", err)
	}
	if err := a.try(g, "198.51.100.1", "other@example.com", "wrong password"); !errors.Is(err, login.ErrInvalidCredentials) {
		t.Fatalf("another account from the same client: %v", err)
	}
	if err := a.try(g, "198.51.100.2", "owner@example.com", ownerPassword); err != nil {
		t.Fatalf("owner from another IP: %v", err)
	}
}

// Strangers cannot lock the owner out: five wrong passwords from five IPs,
// then the owner's right password from a new IP logs in.
func TestAttemptStrangersCannotLockOut(t *testing.T) {
	t.Parallel()
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 20, PerEmailPerMinute: 5})
	a := newAccount(t, g)
	for i := range 5 {
		if err := a.try(g, fmt.Sprintf("203.0.113.%d", i+1), "owner@example.com", "wrong password"); !errors.Is(err, login.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if err := a.try(g, "192.0.2.200", "owner@example.com", ownerPassword); err != nil {
		t.Fatalf("owner from a new IP after 5 failures from 5 IPs: %v, want success", err)
	}
}

// A distributed guess is still throttled: 1,000 guesses from 50 addresses
// at one account are nearly all refused, before bcrypt, and the owner still
// logs in from the IP they logged in from before.
func TestAttemptDistributedGuess(t *testing.T) {
	t.Parallel()
	const free = 10
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 20, PerEmailPerMinute: 5, AccountFailures: free})
	a := newAccount(t, g)
	const ownerIP = "192.0.2.10"
	if err := a.try(g, ownerIP, "owner@example.com", ownerPassword); err != nil {
		t.Fatal(err)
	}
	runs := g.BcryptRuns()
	refused, failed := 0, 0
	for i := range 1000 {
		err := a.try(g, fmt.Sprintf("198.18.0.%d", i%50+1), "owner@example.com", fmt.Sprintf("guess %d", i))
		switch {
		case isLimited(err):
			refused++
		case errors.Is(err, login.ErrInvalidCredentials):
			failed++
		default:
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	checks := g.BcryptRuns() - runs
	t.Logf("1,000 guesses from 50 IPs: %d refused, %d checked (%d bcrypt runs)", refused, failed, checks)
	if refused < 950 {
		t.Errorf("%d of 1,000 guesses refused, want at least 950", refused)
	}
	if checks != int64(failed) || checks > free+10 {
		t.Errorf("%d bcrypt runs for %d checked guesses, want them equal and at most %d", checks, failed, free+10)
	}
	if err := a.try(g, ownerIP, "owner@example.com", ownerPassword); err != nil {
		t.Fatalf("owner from their known IP during the attack: %v, want success", err)
	}
	if err := a.try(g, "192.0.2.99", "owner@example.com", ownerPassword); !isLimited(err) {
		t.Fatalf("login from a new IP during the attack: %v, want RATE_LIMITED (the attacker could be anywhere)", err)
	}
}

// A parallel burst at one account cannot overshoot the account's budget.
func TestAttemptParallelBurst(t *testing.T) {
	t.Parallel()
	const free = 5
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 1000, PerEmailPerMinute: 1000, AccountFailures: free})
	a := newAccount(t, g)
	runs := g.BcryptRuns()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() { _ = a.try(g, fmt.Sprintf("198.18.1.%d", i), "owner@example.com", "wrong password") })
	}
	wg.Wait()
	if n := g.BcryptRuns() - runs; n > free+1 {
		t.Errorf("200 parallel guesses ran %d bcrypts, want at most %d", n, free+1)
	}
}

// Junk that cannot be anyone's email fails without a lookup or a bcrypt,
// and counts as a failure.
func TestAttemptJunkEmailNoBcrypt(t *testing.T) {
	t.Parallel()
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 2, PerEmailPerMinute: 100})
	a := newAccount(t, g)
	runs := g.BcryptRuns()
	for range 2 {
		if err := a.try(g, "192.0.2.3", "not an email", "whatever password"); !errors.Is(err, login.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if err := a.try(g, "192.0.2.3", "not an email", "whatever password"); !isLimited(err) {
		t.Fatalf("third junk attempt: %v, want RATE_LIMITED", err)
	}
	if g.BcryptRuns() != runs || a.lookups.Load() != 0 {
		t.Errorf("junk emails cost %d bcrypts and %d lookups", g.BcryptRuns()-runs, a.lookups.Load())
	}
}

func TestAllowSignupAndAccept(t *testing.T) {
	t.Parallel()
	g := newGuard(t, login.GuardOptions{PerIPPerMinute: 2, SignupPerTenantPerMinute: 3})
	// A canceled context skips the tarpit pause (the answer is the same).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 2 {
		if err := g.AllowSignup(ctx, "192.0.2.1", "acme"); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AllowSignup(ctx, "192.0.2.1", "acme"); !isLimited(err) {
		t.Fatalf("third sign-up from one IP: %v", err)
	}
	if err := g.AllowSignup(ctx, "192.0.2.2", "acme"); err != nil {
		t.Fatal(err)
	}
	if err := g.AllowSignup(ctx, "192.0.2.3", "acme"); !isLimited(err) {
		t.Fatalf("fourth sign-up at one tenant: %v", err)
	}
	if err := g.AllowSignup(ctx, "192.0.2.3", "other"); err != nil {
		t.Fatalf("another tenant: %v", err)
	}
	for range 2 {
		if err := g.AllowAccept(ctx, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AllowAccept(ctx, "192.0.2.1"); !isLimited(err) {
		t.Fatalf("third accept from one IP: %v", err)
	}
}

package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/silo-dev/silo/internal/lib/token"
)

// Test keys, at least 32 bytes each.
var (
	keyA = []byte("key-a-0123456789abcdefghijklmnopqrstuv")
	keyB = []byte("key-b-0123456789abcdefghijklmnopqrstuv")
)

const ttl = 15 * time.Minute

// newKeys returns Keys signing with verify[kid].
func newKeys(tb testing.TB, kid string, verify map[string][]byte) *token.Keys {
	tb.Helper()
	k, err := token.NewKeys(kid, verify, ttl)
	if err != nil {
		tb.Fatalf("NewKeys: %v", err)
	}
	return k
}

// validClaims returns the claims of a token Keys would accept for
// token.CentralAudience, as a map that tests can alter.
func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": token.Issuer,
		"aud": []string{token.CentralAudience},
		"sub": "user-1",
		"jti": "jti-1",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
}

// sign signs claims with method and key, with kid in the header unless it is empty.
func sign(tb testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	t := jwt.NewWithClaims(method, claims)
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

// withKidHeader returns a valid token signed with keyA whose kid header is kid.
func withKidHeader(tb testing.TB, kid any) string {
	tb.Helper()
	tk := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
	tk.Header["kid"] = kid
	s, err := tk.SignedString(keyA)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// hs256 signs claims the way Silo does, with key under kid.
func hs256(tb testing.TB, key []byte, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	return sign(tb, jwt.SigningMethodHS256, key, kid, claims)
}

// with returns a copy of validClaims changed by edits (a nil value deletes the claim).
func with(edits map[string]any) jwt.MapClaims {
	c := validClaims()
	for k, v := range edits {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// segments splits a compact JWT.
func segments(tb testing.TB, raw string) (header, payload, sig string) {
	tb.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		tb.Fatalf("token %q has %d segments", raw, len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// decodeSegment decodes a base64url JSON segment into a map.
func decodeSegment(tb testing.TB, seg string) map[string]any {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatalf("decode segment: %v", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("unmarshal segment: %v", err)
	}
	return m
}

func encodeSegment(tb testing.TB, m map[string]any) string {
	tb.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	if keys.TTL() != ttl {
		t.Errorf("TTL() = %v, want %v", keys.TTL(), ttl)
	}
	before := time.Now().Truncate(time.Second)
	raw, err := keys.Issue(token.CentralAudience, "user-42", token.Claims{
		Email:          "ada@example.com",
		Role:           "superadmin",
		IsCentralAdmin: true,
		TenantID:       "tenant-7",
		Actor:          &token.Actor{Subject: "admin-1"},
	})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	c, err := keys.Verify(raw, token.CentralAudience)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"sub", c.Subject, "user-42"},
		{"email", c.Email, "ada@example.com"},
		{"role", c.Role, "superadmin"},
		{"isCentralAdmin", c.IsCentralAdmin, true},
		{"tid", c.TenantID, "tenant-7"},
		{"iss", c.Issuer, "silo"},
		{"aud", strings.Join(c.Audience, ","), token.CentralAudience},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.Actor == nil || c.Actor.Subject != "admin-1" {
		t.Errorf("act = %+v, want sub admin-1", c.Actor)
	}
	if c.ID == "" {
		t.Error("jti is empty")
	}
	if c.IssuedAt == nil || c.NotBefore == nil || c.ExpiresAt == nil {
		t.Fatalf("iat/nbf/exp missing: %+v", c.RegisteredClaims)
	}
	if c.IssuedAt.Before(before) || c.IssuedAt.After(time.Now()) {
		t.Errorf("iat = %v, not the time of issue", c.IssuedAt)
	}
	if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != ttl {
		t.Errorf("exp - iat = %v, want %v", got, ttl)
	}

	header, payload, _ := segments(t, raw)
	h := decodeSegment(t, header)
	if h["alg"] != "HS256" || h["kid"] != "a" || h["typ"] != "JWT" {
		t.Errorf("header = %v, want alg HS256, kid a, typ JWT", h)
	}
	p := decodeSegment(t, payload)
	for _, claim := range []string{"sub", "email", "role", "isCentralAdmin", "tid", "jti", "iss", "aud", "iat", "nbf", "exp", "act"} {
		if _, ok := p[claim]; !ok {
			t.Errorf("payload lacks claim %q: %v", claim, p)
		}
	}
}

func TestIssueOmitsEmptyClaims(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	raw, err := keys.Issue(token.TenantAudience("acme"), "u", token.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _ := segments(t, raw)
	p := decodeSegment(t, payload)
	for _, claim := range []string{"email", "role", "isCentralAdmin", "tid", "act"} {
		if _, ok := p[claim]; ok {
			t.Errorf("payload has empty claim %q: %v", claim, p)
		}
	}
	c, err := keys.Verify(raw, token.TenantAudience("acme"))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.IsCentralAdmin || c.Actor != nil {
		t.Errorf("claims = %+v", c)
	}
}

func TestIssueOverridesCallerRegisteredClaims(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	var c token.Claims
	c.Issuer = "evil"
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(100 * 24 * time.Hour))
	c.ID = "chosen-jti"
	raw, err := keys.Issue(token.CentralAudience, "u", c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := keys.Verify(raw, token.CentralAudience)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Issuer != token.Issuer || got.ID == "chosen-jti" || got.ExpiresAt.Sub(got.IssuedAt.Time) != ttl {
		t.Errorf("caller's registered claims leaked into the token: %+v", got.RegisteredClaims)
	}
}

func TestIssueUniqueJTI(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	seen := map[string]bool{}
	for range 50 {
		raw, err := keys.Issue(token.CentralAudience, "u", token.Claims{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := keys.Verify(raw, token.CentralAudience)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("jti %q issued twice", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestAudiences(t *testing.T) {
	t.Parallel()
	if got := token.TenantAudience("acme"); got != "silo:tenant:acme" {
		t.Errorf("TenantAudience = %q", got)
	}
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	tests := []struct {
		name            string
		issued, checked string
		ok              bool
	}{
		{"central for central", token.CentralAudience, token.CentralAudience, true},
		{"tenant for same tenant", token.TenantAudience("acme"), token.TenantAudience("acme"), true},
		{"tenant for other tenant", token.TenantAudience("acme"), token.TenantAudience("other"), false},
		{"tenant for central", token.TenantAudience("acme"), token.CentralAudience, false},
		{"central for tenant", token.CentralAudience, token.TenantAudience("acme"), false},
		{"tenant prefix", token.TenantAudience("acme"), token.TenantAudience("acm"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := keys.Issue(tt.issued, "u", token.Claims{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = keys.Verify(raw, tt.checked)
			if tt.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, token.ErrInvalid) {
				t.Errorf("Verify error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestNewKeysErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kid    string
		verify map[string][]byte
	}{
		{"signing kid missing", "b", map[string][]byte{"a": keyA}},
		{"nil map", "a", nil},
		{"signing key 31 bytes", "a", map[string][]byte{"a": keyA[:31]}},
		{"signing key empty", "a", map[string][]byte{"a": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if k, err := token.NewKeys(tt.kid, tt.verify, ttl); err == nil {
				t.Errorf("NewKeys = %v, want an error", k)
			}
		})
	}
	t.Run("32 bytes is enough", func(t *testing.T) {
		t.Parallel()
		if _, err := token.NewKeys("a", map[string][]byte{"a": keyA[:32]}, ttl); err != nil {
			t.Errorf("NewKeys: %v", err)
		}
	})
}

func TestVerifyRefusesInvalidTokens(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA, "b": keyB})
	good, err := keys.Issue(token.CentralAudience, "user-1", token.Claims{Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	header, payload, sig := segments(t, good)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	noneHeader := encodeSegment(t, map[string]any{"alg": "none", "typ": "JWT", "kid": "a"})
	// A token with an RS256 header whose signature is an HMAC with the right key.
	rsHeader := encodeSegment(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": "a"})
	rsHMAC := func() string {
		s, err := jwt.SigningMethodHS256.Sign(rsHeader+"."+payload, keyA)
		if err != nil {
			t.Fatal(err)
		}
		return rsHeader + "." + payload + "." + base64.RawURLEncoding.EncodeToString(s)
	}()
	tamperedPayload := func() string {
		p := decodeSegment(t, payload)
		p["role"] = "superadmin"
		return header + "." + encodeSegment(t, p) + "." + sig
	}()
	tamperedKid := func() string {
		h := decodeSegment(t, header)
		h["kid"] = "b"
		return encodeSegment(t, h) + "." + payload + "." + sig
	}()
	flippedSig := func() string {
		b, err := base64.RawURLEncoding.DecodeString(sig)
		if err != nil {
			t.Fatal(err)
		}
		b[0] ^= 1
		return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(b)
	}()

	tests := []struct {
		name string
		raw  string
	}{
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "a", validClaims())},
		{"alg none with original payload", noneHeader + "." + payload + "."},
		{"alg none keeping the signature", noneHeader + "." + payload + "." + sig},
		{"HS384 with the right key", sign(t, jwt.SigningMethodHS384, keyA, "a", validClaims())},
		{"HS512 with the right key", sign(t, jwt.SigningMethodHS512, keyA, "a", validClaims())},
		{"RS256 signed with RSA", sign(t, jwt.SigningMethodRS256, rsaKey(), "a", validClaims())},
		{"RS256 header with HMAC signature", rsHMAC},
		{"ES256", sign(t, jwt.SigningMethodES256, ecKey, "a", validClaims())},
		{"wrong key same kid", hs256(t, keyB, "a", validClaims())},
		{"unknown kid", hs256(t, keyA, "zzz", validClaims())},
		{"missing kid", hs256(t, keyA, "", validClaims())},
		{"empty kid", withKidHeader(t, "")},
		{"numeric kid", withKidHeader(t, 1)},
		{"kid list", withKidHeader(t, []string{"a"})},
		{"wrong audience", hs256(t, keyA, "a", with(map[string]any{"aud": []string{"silo:tenant:x"}}))},
		{"missing audience", hs256(t, keyA, "a", with(map[string]any{"aud": nil}))},
		{"empty audience", hs256(t, keyA, "a", with(map[string]any{"aud": []string{}}))},
		{"wrong issuer", hs256(t, keyA, "a", with(map[string]any{"iss": "not-silo"}))},
		{"issuer case", hs256(t, keyA, "a", with(map[string]any{"iss": "Silo"}))},
		{"missing issuer", hs256(t, keyA, "a", with(map[string]any{"iss": nil}))},
		{"missing exp", hs256(t, keyA, "a", with(map[string]any{"exp": nil}))},
		{"exp not a number", hs256(t, keyA, "a", with(map[string]any{"exp": "tomorrow"}))},
		{"nbf in the future", hs256(t, keyA, "a", with(map[string]any{"nbf": time.Now().Add(5 * time.Minute).Unix()}))},
		{"iat in the future", hs256(t, keyA, "a", with(map[string]any{"iat": time.Now().Add(5 * time.Minute).Unix()}))},
		{"missing sub", hs256(t, keyA, "a", with(map[string]any{"sub": nil}))},
		{"empty sub", hs256(t, keyA, "a", with(map[string]any{"sub": ""}))},
		{"missing jti", hs256(t, keyA, "a", with(map[string]any{"jti": nil}))},
		{"empty string", ""},
		{"garbage", "garbage"},
		{"three dots", "..."},
		{"two segments", header + "." + payload},
		{"four segments", good + "." + sig},
		{"random segments", "a.b.c"},
		{"bearer prefix", "Bearer " + good},
		{"trailing space", good + " "},
		{"non-json payload", header + "." + base64.RawURLEncoding.EncodeToString([]byte("not json")) + "." + sig},
		{"empty signature", header + "." + payload + "."},
		{"truncated signature", good[:len(good)-1]},
		{"half signature", header + "." + payload + "." + sig[:len(sig)/2]},
		{"flipped signature bit", flippedSig},
		{"tampered payload", tamperedPayload},
		{"tampered kid", tamperedKid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := keys.Verify(tt.raw, token.CentralAudience)
			if !errors.Is(err, token.ErrInvalid) {
				t.Errorf("Verify error = %v (claims %+v), want ErrInvalid", err, c)
			}
			if c != nil {
				t.Errorf("Verify returned claims with an error: %+v", c)
			}
		})
	}

	t.Run("control: the untampered token verifies", func(t *testing.T) {
		t.Parallel()
		if _, err := keys.Verify(good, token.CentralAudience); err != nil {
			t.Errorf("Verify: %v", err)
		}
		if _, err := keys.Verify(hs256(t, keyA, "a", validClaims()), token.CentralAudience); err != nil {
			t.Errorf("Verify of a crafted valid token: %v", err)
		}
		if _, err := keys.Verify(hs256(t, keyB, "b", validClaims()), token.CentralAudience); err != nil {
			t.Errorf("Verify of a token signed by the second key: %v", err)
		}
	})
}

// TestVerifyRequiresIssuedAt: the package documents that verification
// requires iat.
func TestVerifyRequiresIssuedAt(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	_, err := keys.Verify(hs256(t, keyA, "a", with(map[string]any{"iat": nil})), token.CentralAudience)
	if !errors.Is(err, token.ErrInvalid) {
		t.Errorf("Verify error = %v, want ErrInvalid", err)
	}
}

// missingClaimBug describes why an expired token lacking aud or iss is
// reported as expired rather than invalid.
const missingClaimBug = "token.go:102 excludes only jwt.ErrTokenInvalidAudience/ErrTokenInvalidIssuer; a missing aud or iss " +
	"yields jwt.ErrTokenRequiredClaimMissing, so an expired token without aud/iss is reported as ErrExpired"

func TestVerifyExpiry(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	now := time.Now()
	expired := func(edits map[string]any) jwt.MapClaims {
		c := with(map[string]any{
			"iat": now.Add(-20 * time.Minute).Unix(),
			"nbf": now.Add(-20 * time.Minute).Unix(),
			"exp": now.Add(-5 * time.Minute).Unix(),
		})
		for k, v := range edits {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	tests := []struct {
		name string
		raw  string
		want error  // nil: valid
		bug  string // non-empty: a known bug in token.go makes this case fail
	}{
		{"expired", hs256(t, keyA, "a", expired(nil)), token.ErrExpired, ""},
		{"expired 31s ago (beyond leeway)", hs256(t, keyA, "a", expired(map[string]any{"exp": now.Add(-31 * time.Second).Unix()})), token.ErrExpired, ""},
		{"expired 10s ago (within leeway)", hs256(t, keyA, "a", expired(map[string]any{"iat": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(-10 * time.Second).Unix()})), nil, ""},
		{"nbf 10s ahead (within leeway)", hs256(t, keyA, "a", with(map[string]any{"nbf": now.Add(10 * time.Second).Unix()})), nil, ""},
		{"expired with wrong audience", hs256(t, keyA, "a", expired(map[string]any{"aud": []string{"silo:tenant:x"}})), token.ErrInvalid, ""},
		{"expired without audience", hs256(t, keyA, "a", expired(map[string]any{"aud": nil})), token.ErrInvalid, missingClaimBug},
		{"expired without issuer", hs256(t, keyA, "a", expired(map[string]any{"iss": nil})), token.ErrInvalid, missingClaimBug},
		{"expired with wrong issuer", hs256(t, keyA, "a", expired(map[string]any{"iss": "other"})), token.ErrInvalid, ""},
		{"expired with wrong key", hs256(t, keyB, "a", expired(nil)), token.ErrInvalid, ""},
		{"expired with unknown kid", hs256(t, keyA, "nope", expired(nil)), token.ErrInvalid, ""},
		{"expired with alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "a", expired(nil)), token.ErrInvalid, ""},
		{"expired HS512", sign(t, jwt.SigningMethodHS512, keyA, "a", expired(nil)), token.ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := keys.Verify(tt.raw, token.CentralAudience)
			if tt.want == nil {
				if err != nil {
					t.Errorf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify error = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Errorf("Verify returned claims with an error: %+v", c)
			}
			if errors.Is(err, token.ErrExpired) && errors.Is(err, token.ErrInvalid) {
				t.Errorf("error is both ErrExpired and ErrInvalid")
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	// Before rotation: sign and verify with "old".
	before := newKeys(t, "old", map[string][]byte{"old": keyA})
	oldTok, err := before.Issue(token.CentralAudience, "u-old", token.Claims{})
	if err != nil {
		t.Fatal(err)
	}

	// During rotation: sign with "new", still accept "old".
	during := newKeys(t, "new", map[string][]byte{"new": keyB, "old": keyA})
	c, err := during.Verify(oldTok, token.CentralAudience)
	if err != nil {
		t.Fatalf("token signed by the old key refused during rotation: %v", err)
	}
	if c.Subject != "u-old" {
		t.Errorf("sub = %q", c.Subject)
	}
	newTok, err := during.Issue(token.CentralAudience, "u-new", token.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := segments(t, newTok)
	if kid := decodeSegment(t, h)["kid"]; kid != "new" {
		t.Errorf("new tokens carry kid %v, want new", kid)
	}
	if _, err := during.Verify(newTok, token.CentralAudience); err != nil {
		t.Errorf("new token refused: %v", err)
	}
	if _, err := before.Verify(newTok, token.CentralAudience); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("a process without the new key accepted a new token: %v", err)
	}

	// After rotation: "old" removed from the map.
	after := newKeys(t, "new", map[string][]byte{"new": keyB})
	if _, err := after.Verify(oldTok, token.CentralAudience); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("token of a removed key: error = %v, want ErrInvalid", err)
	}
	if _, err := after.Verify(newTok, token.CentralAudience); err != nil {
		t.Errorf("new token refused after rotation: %v", err)
	}

	// The old key re-used under the new kid does not validate old tokens
	// (their header still names "old").
	reused := newKeys(t, "new", map[string][]byte{"new": keyA})
	if _, err := reused.Verify(oldTok, token.CentralAudience); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("old token verified under another kid: %v", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA, "b": keyB})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				raw, err := keys.Issue(token.TenantAudience("t"), "u", token.Claims{Role: "member"})
				if err != nil {
					errs <- err
					return
				}
				if _, err := keys.Verify(raw, token.TenantAudience("t")); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, err := keys.Verify(raw, token.CentralAudience); !errors.Is(err, token.ErrInvalid) {
						errs <- errors.New("wrong audience accepted")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkVerify(b *testing.B) {
	keys, err := token.NewKeys("a", map[string][]byte{"a": keyA, "b": keyB}, ttl)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := keys.Issue(token.CentralAudience, "user-1", token.Claims{Email: "a@example.com", Role: "admin", IsCentralAdmin: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := keys.Verify(raw, token.CentralAudience); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNewKeysRetiredErrors(t *testing.T) {
	t.Parallel()
	verify := map[string][]byte{"a": keyA, "b": keyB}
	for name, retired := range map[string]map[string]time.Time{
		"signing key retired": {"a": time.Now()},
		"unknown kid retired": {"c": time.Now()},
	} {
		if k, err := token.NewKeys("a", verify, ttl, token.Retired(retired)); err == nil {
			t.Errorf("%s: NewKeys = %v, want an error", name, k)
		}
	}
	if k, err := token.NewKeys("a", verify, 0); err == nil {
		t.Errorf("zero lifetime: NewKeys = %v, want an error", k)
	}
}

// A retired key (SILO_JWT_VERIFY_KEYS kid:secret:time) verifies only the
// tokens issued before it retired: whoever holds it now cannot mint new ones.
func TestRetiredKeyVerifiesOnlyEarlierTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	retiredAt := now.Add(-5 * time.Minute).Truncate(time.Second) // iat has whole seconds
	keys, err := token.NewKeys("new", map[string][]byte{"new": keyB, "old": keyA}, ttl,
		token.Retired(map[string]time.Time{"old": retiredAt}))
	if err != nil {
		t.Fatal(err)
	}
	at := func(iat time.Time, life time.Duration) map[string]any {
		return map[string]any{"iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(life).Unix()}
	}
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"old key, issued before retirement", hs256(t, keyA, "old", with(at(retiredAt.Add(-time.Minute), ttl))), true},
		{"old key, issued at retirement", hs256(t, keyA, "old", with(at(retiredAt, ttl))), false},
		{"old key, issued after retirement", hs256(t, keyA, "old", with(at(now, 5*time.Minute))), false},
		{"old key, issued today for 10 years", hs256(t, keyA, "old", with(at(now, 10*365*24*time.Hour))), false},
		{"old key, backdated iat with 10 years", hs256(t, keyA, "old", with(at(retiredAt.Add(-time.Hour), 10*365*24*time.Hour))), false},
		{"new key, issued now", hs256(t, keyB, "new", with(at(now, ttl))), true},
	}
	for _, tt := range tests {
		c, err := keys.Verify(tt.raw, token.CentralAudience)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: Verify: %v", tt.name, err)
		case !tt.ok && (err != token.ErrInvalid || c != nil):
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalid", tt.name, c, err)
		}
	}
	issued, err := keys.Issue(token.CentralAudience, "u", token.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Verify(issued, token.CentralAudience); err != nil {
		t.Errorf("a token the keys issued: %v", err)
	}
}

// Whatever the key, a token whose exp − iat exceeds the lifetime Silo issues
// tokens with (plus LifetimeLeeway) is refused: a 10-year token is forged.
func TestVerifyRefusesLongLivedTokens(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	now := time.Now()
	life := func(d time.Duration, extra map[string]any) jwt.MapClaims {
		c := with(map[string]any{"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(d).Unix()})
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"10 years", hs256(t, keyA, "a", life(10*365*24*time.Hour, nil)), false},
		{"10-year impersonation", hs256(t, keyA, "a", life(10*365*24*time.Hour, map[string]any{"act": map[string]any{"sub": "admin-1"}})), false},
		{"lifetime + leeway + 1s", hs256(t, keyA, "a", life(ttl+token.LifetimeLeeway+time.Second, nil)), false},
		{"lifetime + leeway", hs256(t, keyA, "a", life(ttl+token.LifetimeLeeway, nil)), true},
		{"lifetime", hs256(t, keyA, "a", life(ttl, nil)), true},
		{"impersonation, lifetime", hs256(t, keyA, "a", life(ttl, map[string]any{"act": map[string]any{"sub": "admin-1"}})), true},
	}
	for _, tt := range tests {
		c, err := keys.Verify(tt.raw, token.CentralAudience)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: Verify: %v", tt.name, err)
		case !tt.ok && (err != token.ErrInvalid || c != nil):
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalid", tt.name, c, err)
		}
	}
	issued, err := keys.Issue(token.TenantAudience("acme"), "u", token.Claims{TenantID: "acme", Actor: &token.Actor{Subject: "admin-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Verify(issued, token.TenantAudience("acme")); err != nil {
		t.Errorf("a normal issued token: %v", err)
	}
}

// Cached Keys answer a token they accepted from memory, for its audience
// only, and never past its expiry; the answer is a copy.
func TestCachedVerify(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	keys, err := token.NewKeys("a", map[string][]byte{"a": keyA}, time.Minute, token.Clock(func() time.Time { return clock() }))
	if err != nil {
		t.Fatal(err)
	}
	cached := keys.Cached(64)
	raw, err := keys.Issue(token.CentralAudience, "user-1", token.Claims{Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := cached.Verify(raw, token.CentralAudience)
		if err != nil || c.Subject != "user-1" || c.Email != "a@example.com" {
			t.Fatalf("cached verify: %+v %v", c, err)
		}
		c.Subject = "someone-else" // must not reach the cache
	}
	if _, err := cached.Verify(raw, token.TenantAudience("acme")); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("other audience: %v, want ErrInvalid", err)
	}
	if _, err := cached.Verify(raw+"x", token.CentralAudience); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("altered token: %v, want ErrInvalid", err)
	}
	now = now.Add(time.Minute + 20*time.Second) // within the leeway
	if c, err := cached.Verify(raw, token.CentralAudience); err != nil || c.Subject != "user-1" {
		t.Fatalf("within the leeway: %+v %v", c, err)
	}
	now = now.Add(15 * time.Second) // past exp + leeway
	if _, err := cached.Verify(raw, token.CentralAudience); !errors.Is(err, token.ErrExpired) {
		t.Fatalf("expired: %v, want ErrExpired", err)
	}
}

// A full cache evicts its oldest tokens, which then verify afresh.
func TestCachedVerifyEvicts(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	cached := keys.Cached(16)
	for i := range 200 {
		raw, err := keys.Issue(token.CentralAudience, fmt.Sprintf("user-%d", i), token.Claims{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if c, err := cached.Verify(raw, token.CentralAudience); err != nil || c.Subject != fmt.Sprintf("user-%d", i) {
				t.Fatalf("token %d: %+v %v", i, c, err)
			}
		}
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	keys, err := token.NewKeys("a", map[string][]byte{"a": keyA, "b": keyB}, ttl)
	if err != nil {
		b.Fatal(err)
	}
	cached := keys.Cached(1024)
	raw, err := keys.Issue(token.CentralAudience, "user-1", token.Claims{Email: "a@example.com", Role: "admin", IsCentralAdmin: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cached.Verify(raw, token.CentralAudience); err != nil {
			b.Fatal(err)
		}
	}
}

func TestExpiryOf(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, "a", map[string][]byte{"a": keyA})
	raw, err := keys.Issue(token.CentralAudience, "user-42", token.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.Verify(raw, token.CentralAudience)
	if err != nil {
		t.Fatal(err)
	}
	exp, ok := token.ExpiryOf(raw)
	if !ok || !exp.Equal(c.ExpiresAt.Time) {
		t.Errorf("ExpiryOf = %v, %v; want %v, true", exp, ok, c.ExpiresAt.Time)
	}
	for _, bad := range []string{"", "silo_abc", "a.b.c"} {
		if _, ok := token.ExpiryOf(bad); ok {
			t.Errorf("ExpiryOf(%q) found an expiry", bad)
		}
	}
}

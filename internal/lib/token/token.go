// Package token issues and verifies Silo's access tokens: HS256 JWTs whose
// header names the signing key (kid) so keys can rotate. Verification pins
// the algorithm and requires iss, aud, exp and iat; it refuses a token that
// would live longer than Silo issues tokens for, and a token signed by a
// retired key after that key retired. It knows nothing of users or
// databases; callers decide what a valid token's subject may do.
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// Issuer is the iss claim of every Silo token.
const Issuer = "silo"

// CentralAudience is the aud of central-admin tokens.
const CentralAudience = "silo:central"

// TenantAudience returns the aud of tenant-user tokens for a tenant slug.
func TenantAudience(slug string) string { return "silo:tenant:" + slug }

// Claims are the claims of a Silo access token.
type Claims struct {
	jwt.RegisteredClaims
	Email          string `json:"email,omitempty"`
	Role           string `json:"role,omitempty"`
	IsCentralAdmin bool   `json:"isCentralAdmin,omitempty"`
	TenantID       string `json:"tid,omitempty"`
	Actor          *Actor `json:"act,omitempty"`
}

// Actor names who acts on the subject's behalf (impersonation).
type Actor struct {
	Subject string `json:"sub"`
}

// Errors returned by Verify.
var (
	ErrExpired = errors.New("token expired")
	ErrInvalid = errors.New("token invalid")
)

// What both planes answer for an access token that Verify refused, or
// whose subject may no longer act.
var (
	ErrAccessExpired  = apperr.New(apperr.Unauthenticated, "TOKEN_EXPIRED", "Access token expired")
	ErrBadAccessToken = apperr.New(apperr.Unauthenticated, "UNAUTHENTICATED", "Invalid access token")
)

// LifetimeLeeway is how much longer than its kind's lifetime a token's
// exp − iat may be (seconds are rounded when a token is issued).
const LifetimeLeeway = 30 * time.Second

// Keys signs with one key and verifies with any key it knows by kid.
type Keys struct {
	signKID string
	verify  map[string][]byte
	retired map[string]time.Time // kid → when it stopped signing
	ttl     time.Duration
	now     func() time.Time
	// verified remembers accepted tokens (see Cached); nil: none.
	verified *verifiedCache
}

// An Option configures Keys.
type Option func(*Keys)

// Retired marks verification keys as retired: a token signed with kid is
// accepted only if it was issued (iat) before retired[kid]. A key that
// leaked after it retired can then mint no token Silo accepts.
func Retired(retired map[string]time.Time) Option {
	return func(k *Keys) {
		for kid, at := range retired {
			k.retired[kid] = at
		}
	}
}

// NewKeys returns Keys signing with verify[signKID]; ttl is the access-token
// lifetime (and so the longest lifetime a token may claim).
func NewKeys(signKID string, verify map[string][]byte, ttl time.Duration, opts ...Option) (*Keys, error) {
	if len(verify[signKID]) < 32 {
		return nil, fmt.Errorf("signing key %q missing or shorter than 32 bytes", signKID)
	}
	if ttl <= 0 {
		return nil, errors.New("the access-token lifetime must be positive")
	}
	keys := make(map[string][]byte, len(verify))
	for kid, key := range verify {
		keys[kid] = append([]byte(nil), key...)
	}
	k := &Keys{signKID: signKID, verify: keys, retired: map[string]time.Time{}, ttl: ttl, now: time.Now}
	for _, o := range opts {
		o(k)
	}
	for kid := range k.retired {
		switch {
		case kid == signKID:
			return nil, fmt.Errorf("the signing key %q cannot be retired", kid)
		case keys[kid] == nil:
			return nil, fmt.Errorf("retired key %q is not a verification key", kid)
		}
	}
	return k, nil
}

// TTL is the lifetime of the access tokens these keys issue.
func (k *Keys) TTL() time.Duration { return k.ttl }

// Issue signs c for audience and subject, filling in iss, iat, nbf, exp and a fresh jti.
func (k *Keys) Issue(audience, subject string, c Claims) (string, error) {
	now := k.now()
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   subject,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(k.ttl)),
		ID:        uuid.NewString(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, &c)
	t.Header["kid"] = k.signKID
	return t.SignedString(k.verify[k.signKID])
}

// Verify parses raw and returns its claims only if it is an HS256 token
// signed by a known key, issued by Silo for audience, and currently valid.
func (k *Keys) Verify(raw, audience string) (*Claims, error) {
	if k.verified == nil {
		return k.check(raw, audience)
	}
	if c, ok := k.verified.get(raw, audience, k.now()); ok {
		return c, nil
	}
	c, err := k.check(raw, audience)
	if err == nil {
		k.verified.put(raw, audience, c)
	}
	return c, err
}

// check is Verify without the cache.
func (k *Keys) check(raw, audience string) (*Claims, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		// One spelling per token: no padding, no stray bits in the last
		// base64url character (otherwise four texts verify as one token).
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(verifyLeeway),
		jwt.WithTimeFunc(k.now),
	)
	var c Claims
	t, err := parser.ParseWithClaims(raw, &c, k.keyFor)
	switch {
	case err == nil:
		if c.Subject == "" || c.ID == "" || c.IssuedAt == nil || !k.withinPolicy(t, &c) {
			return nil, ErrInvalid
		}
		return &c, nil
	case errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenInvalidAudience) &&
		!errors.Is(err, jwt.ErrTokenInvalidIssuer) && !errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		// Only a correctly signed token can be reported as expired.
		return nil, ErrExpired
	default:
		return nil, ErrInvalid
	}
}

// withinPolicy reports whether a correctly signed token claims no longer a
// lifetime than its kind is issued with, and was issued before its key
// retired (if it did). Neither can be checked by the signature alone: the
// holder of a key signs whatever claims it likes.
func (k *Keys) withinPolicy(t *jwt.Token, c *Claims) bool {
	iat := c.IssuedAt.Time
	if c.ExpiresAt.Sub(iat) > k.maxLifetime(c)+LifetimeLeeway {
		return false
	}
	kid, _ := t.Header["kid"].(string)
	if at, ok := k.retired[kid]; ok && !iat.Before(at) {
		return false
	}
	return true
}

// maxLifetime is the lifetime Silo issues a token of c's kind with. Every
// kind (central and tenant access tokens, impersonation tokens, which carry
// act) is issued by Issue with the access-token lifetime; a kind with its
// own lifetime gets its case here.
func (k *Keys) maxLifetime(*Claims) time.Duration { return k.ttl }

func (k *Keys) keyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	key, ok := k.verify[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}

// ExpiryOf returns the exp claim of raw without verifying the token: for
// a token Verify has already accepted, whose holder must stop when it
// expires (an event stream); false when raw has none.
func ExpiryOf(raw string) (time.Time, bool) {
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil || c.ExpiresAt == nil {
		return time.Time{}, false
	}
	return c.ExpiresAt.Time, true
}

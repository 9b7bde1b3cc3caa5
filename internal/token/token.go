// Package token issues and verifies Silo's access tokens: HS256 JWTs whose
// header names the signing key (kid) so keys can rotate. Verification pins
// the algorithm and requires iss, aud, exp and iat. It knows nothing of
// users or databases; callers decide what a valid token's subject may do.
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
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

// Keys signs with one key and verifies with any key it knows by kid.
type Keys struct {
	signKID string
	verify  map[string][]byte
	ttl     time.Duration
	now     func() time.Time
}

// NewKeys returns Keys signing with verify[signKID]; ttl is the access-token lifetime.
func NewKeys(signKID string, verify map[string][]byte, ttl time.Duration) (*Keys, error) {
	if len(verify[signKID]) < 32 {
		return nil, fmt.Errorf("signing key %q missing or shorter than 32 bytes", signKID)
	}
	keys := make(map[string][]byte, len(verify))
	for kid, key := range verify {
		keys[kid] = append([]byte(nil), key...)
	}
	return &Keys{signKID: signKID, verify: keys, ttl: ttl, now: time.Now}, nil
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
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		// One spelling per token: no padding, no stray bits in the last
		// base64url character (otherwise four texts verify as one token).
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(k.now),
	)
	var c Claims
	_, err := parser.ParseWithClaims(raw, &c, k.keyFor)
	switch {
	case err == nil:
		if c.Subject == "" || c.ID == "" || c.IssuedAt == nil {
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

func (k *Keys) keyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	key, ok := k.verify[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}

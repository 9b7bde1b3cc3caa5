// Package opaque makes the bearer secrets Silo hands out once and keeps
// only as a SHA-256 hash: API keys, invitation tokens and refresh tokens.
// It imports nothing of Silo's.
package opaque

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// New returns prefix followed by 256 random bits, URL-safe base64.
func New(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is what is stored for raw, and looked up when raw is presented.
func Hash(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

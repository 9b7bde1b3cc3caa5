package opaque_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/silo-dev/silo/internal/lib/opaque"
)

func TestNew(t *testing.T) {
	a, b := opaque.New("sk_"), opaque.New("sk_")
	// 32 random bytes are 43 characters of unpadded URL-safe base64.
	if !strings.HasPrefix(a, "sk_") || len(a) != 3+43 || strings.ContainsAny(a, "+/=") {
		t.Errorf("New(sk_) = %q, want sk_ and 43 URL-safe characters", a)
	}
	if a == b {
		t.Error("two secrets are equal")
	}
}

func TestHashIsSHA256(t *testing.T) {
	// Stored hashes must keep matching the secrets already handed out.
	got := hex.EncodeToString(opaque.Hash("abc"))
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("Hash(abc) = %s, want %s", got, want)
	}
}

package secretbox_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/silo-dev/silo/internal/lib/secretbox"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	a := box.Seal([]byte("hunter2"), []byte("user_a"))
	b := box.Seal([]byte("hunter2"), []byte("user_a"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one secret are equal: nonce reused")
	}
	if bytes.Contains(a, []byte("hunter2")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	got, err := box.Open(a, []byte("user_a"))
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	t.Run("OtherAAD", func(t *testing.T) {
		if _, err := box.Open(a, []byte("user_b")); !errors.Is(err, secretbox.ErrOpen) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OtherKey", func(t *testing.T) {
		other, _ := secretbox.New(bytes.Repeat([]byte{8}, 32))
		if _, err := other.Open(a, []byte("user_a")); !errors.Is(err, secretbox.ErrOpen) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		c := append([]byte(nil), a...)
		c[len(c)-1] ^= 1
		if _, err := box.Open(c, []byte("user_a")); !errors.Is(err, secretbox.ErrOpen) {
			t.Fatalf("err = %v", err)
		}
		if _, err := box.Open(c[:5], []byte("user_a")); !errors.Is(err, secretbox.ErrOpen) {
			t.Fatalf("short: err = %v", err)
		}
	})
	t.Run("BadKey", func(t *testing.T) {
		if _, err := secretbox.New([]byte("short")); err == nil {
			t.Fatal("16-byte key accepted")
		}
	})
}

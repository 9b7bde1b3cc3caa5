package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// devSecrets are the secrets development generates once and keeps in a local,
// git-ignored file so that tokens and encrypted data survive restarts.
type devSecrets struct {
	JWTSecret string `json:"jwtSecret"`
	MasterKey string `json:"masterKey"`
}

// loadDevSecrets reads path, creating it with fresh random secrets when it
// does not exist. The warning (if any) is for the operator's log.
func loadDevSecrets(path string) (devSecrets, string, error) {
	var s devSecrets
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &s); err != nil || s.JWTSecret == "" || s.MasterKey == "" {
			return s, "", fmt.Errorf("%s is not a valid secrets file; delete it to generate new secrets", path)
		}
		return s, "", nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return s, "", fmt.Errorf("cannot read %s: %v", path, err)
	}
	s = devSecrets{JWTSecret: randomKey(), MasterKey: randomKey()}
	b, _ = json.MarshalIndent(s, "", "  ")
	// Write a private temporary file, then link it into place: the link fails
	// if another process got there first, and nobody ever reads a half file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".silo-secrets-*")
	if err != nil {
		return s, "", fmt.Errorf("cannot create %s: %v", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return s, "", fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return s, "", fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return loadDevSecrets(path)
	} else if err != nil {
		return s, "", fmt.Errorf("cannot create %s: %v", path, err)
	}
	return s, fmt.Sprintf("development mode: generated SILO_JWT_SECRET and SILO_MASTER_KEY into %s (keep it private; set both variables in production)", path), nil
}

func randomKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.StdEncoding.EncodeToString(b)
}

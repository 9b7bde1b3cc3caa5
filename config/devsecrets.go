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
	"runtime"
)

// devSecrets are the secrets development generates once and keeps in a
// private file so that tokens and encrypted data survive restarts. The file
// is in one place whatever the working directory: a command run from
// another folder must find the same master key, or it seals tenants' DB
// passwords under a key the server cannot open.
type devSecrets struct {
	JWTSecret string `json:"jwtSecret"`
	MasterKey string `json:"masterKey"`
}

// legacyDevSecretsFile is where development kept its secrets before: the
// working directory.
const legacyDevSecretsFile = ".silo-dev-secrets.json"

// loadDevSecrets reads the development secrets file (path, or by default
// silo/dev-secrets.json in the user's config directory, found through
// getenv), creating it with fresh random secrets when it does not exist.
// The warning (if any) is for the operator's log.
func loadDevSecrets(path string, getenv func(string) string) (devSecrets, string, error) {
	if path != "" {
		if !filepath.IsAbs(path) {
			return devSecrets{}, "", fmt.Errorf("must be an absolute path, got %q (a relative one would depend on the working directory)", path)
		}
		return loadDevSecretsFile(path)
	}
	dir, err := userConfigDir(getenv)
	if err != nil {
		return devSecrets{}, "", fmt.Errorf("%v; set SILO_DEV_SECRETS_FILE to an absolute path", err)
	}
	dir = filepath.Join(dir, "silo")
	path = filepath.Join(dir, "dev-secrets.json")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// Never generate new secrets beside old ones that still open the
		// installation's data: say where they must go.
		if _, err := os.Stat(legacyDevSecretsFile); err == nil {
			return devSecrets{}, "", fmt.Errorf("development secrets now live in %s, and %s in this folder holds older ones: "+
				"move it there (mkdir -p %s && mv %s %s), or delete it if its data is gone", path, legacyDevSecretsFile, dir, legacyDevSecretsFile, path)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return devSecrets{}, "", fmt.Errorf("cannot create %s: %v", dir, err)
		}
	}
	return loadDevSecretsFile(path)
}

// userConfigDir is os.UserConfigDir read through getenv, so that tests (and
// embedding applications) choose the environment.
func userConfigDir(getenv func(string) string) (string, error) {
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = getenv("AppData")
	case "darwin", "ios":
		if home := getenv("HOME"); home != "" {
			dir = filepath.Join(home, "Library", "Application Support")
		}
	case "plan9":
		if home := getenv("home"); home != "" {
			dir = filepath.Join(home, "lib")
		}
	default:
		dir = getenv("XDG_CONFIG_HOME")
		if dir == "" {
			if home := getenv("HOME"); home != "" {
				dir = filepath.Join(home, ".config")
			}
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		return "", errors.New("cannot find the user's config directory ($XDG_CONFIG_HOME or $HOME)")
	}
	return dir, nil
}

// loadDevSecretsFile reads path, creating it with fresh random secrets when
// it does not exist.
func loadDevSecretsFile(path string) (devSecrets, string, error) {
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
		return loadDevSecretsFile(path)
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

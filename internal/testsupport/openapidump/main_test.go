package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestRunWritesTheServedDocument checks that the file written is the
// OpenAPI document with Silo's own routes and the record store's.
func TestRunWritesTheServedDocument(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openapi.json")
	if err := run(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the file is not JSON: %v", err)
	}
	if doc.OpenAPI == "" {
		t.Error("the document has no openapi version")
	}
	for _, p := range []string{"/api/central/auth/login", "/api/central/tenants", "/api/auth/login", "/api/collections/{collection}/records"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("the document has no path %s", p)
		}
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Error("the file does not end with a newline")
	}
}

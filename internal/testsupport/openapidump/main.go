// Command openapidump writes the OpenAPI document that /api/openapi.json
// serves for a plain Silo (its routes and the record store's), built without
// a database, indented so that linters' line numbers point somewhere
// readable. CI lints it and generates the TypeScript client of
// examples/typescript from it (.ci/openapi-check):
//
//	go run ./internal/testsupport/openapidump -o examples/typescript/openapi.json
//
// Without -o it writes to standard output.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/silo-dev/silo/internal/feature/records"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/router"
)

func main() {
	out := flag.String("o", "", "write the document to this file instead of standard output")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "openapidump:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	if path == "" {
		return write(os.Stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// write writes the document, indented, with a final newline.
func write(w io.Writer) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, router.OpenAPIDocument(records.Routes(clock.System)), "", "  "); err != nil {
		return fmt.Errorf("the document is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

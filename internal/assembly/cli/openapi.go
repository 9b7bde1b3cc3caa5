package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/silo-dev/silo/internal/feature/records"
	"github.com/silo-dev/silo/router"
)

// openAPICmd is "silo openapi": the document GET /api/openapi.json serves,
// built without a database, settings or secrets (so that CI can lint it).
func openAPICmd(s *session) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "openapi",
		Short: "print the OpenAPI document of the HTTP API (needs no database or settings)",
		Long: `Print the OpenAPI 3 document that GET /api/openapi.json serves: Silo's routes,
the record store's and, in an application built on Silo, the application's.
It is built from the router itself, without a database, settings or secrets.`,
		Args: positional(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc := router.OpenAPIDocument(append(records.Routes(nil), s.ext.Routes...))
			doc = append(doc, '\n')
			if output == "" {
				_, err := cmd.OutOrStdout().Write(doc)
				return err
			}
			if err := os.WriteFile(output, doc, 0o644); err != nil {
				return fmt.Errorf("could not write the OpenAPI document: %w", err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "write the document to `FILE` instead of stdout")
	return c
}

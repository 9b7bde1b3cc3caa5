// Package central owns the central database: central admins, their refresh
// tokens, and the schema migrations that create them. It holds all of the
// central plane's SQL and its business rules (who may register, the last
// superadmin, token rotation); it knows nothing of HTTP.
package central

// Package router is Silo's HTTP layer: gin handlers and middleware that
// decode and validate requests, call one service method, and answer in the
// JSON envelope of API.md. It maps error kinds to HTTP statuses in one table
// (errors.go) and never writes SQL.
package router

// Package browser holds the console's browser tests: a Go test that starts
// a whole Silo (internal/testsupport/testsilo), makes through the API what
// the scenarios need, and runs each scenario of e2e/ (a Node.js script
// driving Debian's chromium with playwright-core) against it as a subtest.
// Any console message, Content-Security-Policy violation, page error,
// failed request or 5xx answer on any page fails the scenario. The
// scenarios take screenshots of the console's main pages, into a temporary
// folder, or into docs/console/ with SILO_E2E_SCREENSHOTS=docs (make
// console-screenshots); a failed one saves every open page in
// $TMPDIR/silo-e2e and says where.
//
//	go test -race -count=1 -v ./internal/testsupport/browser/
//
// It needs /usr/bin/chromium (or SILO_CHROMIUM), Node.js 20 or later with
// npm, and the npm registry or cache for playwright-core the first time
// (npm ci into e2e/node_modules). Without them it skips, saying what is
// missing, except under CI=true, where it fails.
// SILO_E2E_SCENARIOS=all (or a comma-separated list of names) also runs
// the scenarios waiting for console pages that are not there yet.
package browser

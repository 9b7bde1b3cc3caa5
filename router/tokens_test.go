package router_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/silo-dev/silo/internal/testsupport/testsilo"
)

// issuedToken is a token Silo answered, the row of docs/SECURITY.md's
// token table that describes it, and the audience it is for.
type issuedToken struct {
	kind, raw, audience string
}

// issueEveryKind has a Silo issue each kind of token it hands out, for
// tenant acme: access tokens of both planes from a login and from a
// refresh, an impersonation token, and the opaque ones.
func issueEveryKind(t *testing.T, e *testsilo.Env) []issuedToken {
	t.Helper()
	e.AdminToken()
	admin := e.CreateTenant("acme")
	central := e.CentralLogin(t, testsilo.Superadmin, testsilo.Password)
	centralRefresh := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "POST", Path: "/api/central/auth/refresh",
		Body: map[string]string{"refresh_token": central.Str("refresh_token")}})
	userID := e.SignUp(t, "acme", "mo@acme.test", testsilo.Password)
	tenant := e.TenantLogin(t, "acme", "mo@acme.test", testsilo.Password)
	tenantRefresh := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "POST", Path: "/api/auth/refresh", Tenant: "acme",
		Body: map[string]string{"refresh_token": tenant.Str("refresh_token")}})
	imp := e.Expect(t, http.StatusOK, "", testsilo.Request{Method: "POST", Path: "/api/central/tenants/acme/impersonate",
		Token: centralRefresh.Str("access_token"), Body: map[string]string{"userId": userID}})
	invite := e.Expect(t, http.StatusCreated, "", testsilo.Request{Method: "POST", Path: "/api/invitations", Tenant: "acme", Token: admin,
		Body: map[string]string{"email": "new@acme.test", "role": "member"}})

	const opaque = "refresh token (both planes), API key, invitation token"
	return []issuedToken{
		{"central access token", central.Str("access_token"), "silo:central"},
		{"central access token", centralRefresh.Str("access_token"), "silo:central"},
		{"tenant access token", tenant.Str("access_token"), "silo:tenant:acme"},
		{"tenant access token", tenantRefresh.Str("access_token"), "silo:tenant:acme"},
		{"impersonation token", imp.Str("access_token"), "silo:tenant:acme"},
		{opaque, central.Str("refresh_token"), ""},
		{opaque, tenantRefresh.Str("refresh_token"), ""},
		{opaque, e.APIKey("acme", admin, "data:read"), ""},
		{opaque, invite.Str("token"), ""},
	}
}

// TestExternalVerifierUsesTheDocumentedKey verifies Silo's tokens as
// docs/SECURITY.md tells another service to: golang-jwt, HS256, with the
// key being the base64 decoding of SILO_JWT_SECRET, looked up by a kid
// derived as documented. The secret's text is not the key.
func TestExternalVerifierUsesTheDocumentedKey(t *testing.T) {
	t.Parallel()
	e := testsilo.Start(t, nil)
	secret := e.Settings["SILO_JWT_SECRET"]
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(key) < 32 {
		t.Fatalf("SILO_JWT_SECRET %d bytes, %v", len(key), err)
	}
	sum := sha256.Sum256(key)
	kid := "k" + hex.EncodeToString(sum[:])[:12]
	doc, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte(`base64.StdEncoding.DecodeString(os.Getenv("SILO_JWT_SECRET"))`)) ||
		!bytes.Contains(doc, []byte("the first 12 hex digits of the SHA-256 of the decoded key")) {
		t.Fatal("docs/SECURITY.md no longer says how the key and kid are derived as this test does")
	}

	for _, tok := range issueEveryKind(t, e) {
		if tok.audience == "" {
			continue
		}
		parse := func(k []byte) (*jwt.Token, error) {
			return jwt.Parse(tok.raw, func(t *jwt.Token) (any, error) {
				if t.Header["kid"] != kid {
					return nil, jwt.ErrTokenUnverifiable
				}
				return k, nil
			}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("silo"), jwt.WithAudience(tok.audience), jwt.WithExpirationRequired())
		}
		if _, err := parse(key); err != nil {
			t.Errorf("%s: refused with the documented key: %v", tok.kind, err)
		}
		if _, err := parse([]byte(secret)); err == nil {
			t.Errorf("%s: verified with the secret's text as the key", tok.kind)
		}
	}
}

// backticked is a code span of a Markdown row.
var backticked = regexp.MustCompile("`([^`]*)`")

// TestIssuedTokensCarryTheDocumentedAudience decodes each kind of token
// Silo issues and checks it against the token table of docs/SECURITY.md:
// the aud exactly as sent, every other claim named, and "not a JWT" for
// the opaque ones.
func TestIssuedTokensCarryTheDocumentedAudience(t *testing.T) {
	t.Parallel()
	e := testsilo.Start(t, nil)
	doc, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{"iss": true, "sub": true, "aud": true, "iat": true, "nbf": true, "exp": true, "jti": true}
	for _, tok := range issueEveryKind(t, e) {
		i := bytes.Index(doc, []byte("| "+tok.kind+" |"))
		if i < 0 {
			t.Errorf("docs/SECURITY.md has no row for the %s", tok.kind)
			continue
		}
		row := string(doc[i : i+bytes.IndexByte(doc[i:], '\n')])
		cells := strings.Split(row, " | ")
		if len(cells) != 4 {
			t.Fatalf("row %q has %d cells, want 4", row, len(cells))
		}
		parts := strings.Split(tok.raw, ".")
		if tok.audience == "" {
			if len(parts) == 3 || !strings.Contains(cells[2], "not a JWT") {
				t.Errorf("%s %q: documented as %q", tok.kind, tok.raw, cells[2])
			}
			continue
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]json.RawMessage
		if err != nil || json.Unmarshal(payload, &claims) != nil {
			t.Fatalf("%s: payload %q: %v", tok.kind, payload, err)
		}
		wantAud := strings.ReplaceAll(strings.Trim(cells[2], "`"), "<slug>", "acme")
		if got := string(claims["aud"]); got != wantAud || !strings.Contains(got, `"`+tok.audience+`"`) {
			t.Errorf("%s: aud %s, documented %s", tok.kind, got, cells[2])
		}
		named := map[string]bool{}
		for _, m := range backticked.FindAllStringSubmatch(cells[3], -1) {
			named[strings.SplitN(m[1], ":", 2)[0]] = true
		}
		for claim := range claims {
			if !registered[claim] && !named[claim] {
				t.Errorf("%s: claim %q is not in its row of docs/SECURITY.md: %s", tok.kind, claim, row)
			}
		}
		for name := range named {
			if _, ok := claims[name]; !ok {
				t.Errorf("%s: docs/SECURITY.md names claim %q, which the token lacks: %s", tok.kind, name, payload)
			}
		}
	}
}

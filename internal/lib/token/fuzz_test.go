package token_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/silo-dev/silo/internal/lib/token"
)

// Fuzz targets for token parsing and verification. Run one with
//
//	go test -run='^$' -fuzz='^FuzzVerify$' -fuzztime=30s ./internal/lib/token
//
// Plain `go test` runs their seeds (f.Add and testdata/fuzz/<Name>/).

// fuzzKeys signs with kid "a" (keyA) and also verifies kid "b" (keyB).
func fuzzKeys(tb testing.TB) *token.Keys {
	return newKeys(tb, "a", map[string][]byte{"a": keyA, "b": keyB})
}

// verifyLeeway is Verify's clock-skew allowance (30 s) plus slack for the
// time between Verify's clock reading and the test's.
const verifyLeeway = 31 * time.Second

// FuzzVerify: Verify never panics on arbitrary input, and whatever it accepts
// satisfies Silo's token policy (checked independently of the jwt library).
// Random input is practically never signed, so the interesting property is
// the absence of panics; FuzzVerifySigned checks the policy in earnest.
func FuzzVerify(f *testing.F) {
	keys := fuzzKeys(f)
	valid, err := keys.Issue(token.CentralAudience, "user-1", token.Claims{Email: "a@b.c", IsCentralAdmin: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid, token.CentralAudience)
	f.Add(valid, token.TenantAudience("acme"))
	f.Add("", "")
	f.Add(".", token.CentralAudience)
	f.Add("..", token.CentralAudience)
	f.Add("...", token.CentralAudience)
	f.Add("a.b.c", token.CentralAudience)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", token.CentralAudience)
	f.Add(strings.Repeat("A", 10000)+"."+strings.Repeat("B", 10000)+".", token.CentralAudience)
	f.Add("Bearer "+valid, token.CentralAudience)
	f.Add(valid+"\r\n", token.CentralAudience)
	f.Add("\x00.\x00.\x00", "\x00")
	f.Fuzz(func(t *testing.T, raw, audience string) {
		c, err := keys.Verify(raw, audience)
		if err != nil {
			if c != nil {
				t.Fatalf("Verify returned claims with error %v", err)
			}
			if err != token.ErrInvalid && err != token.ErrExpired {
				t.Fatalf("Verify error %v is neither ErrInvalid nor ErrExpired", err)
			}
			return
		}
		requireAccepted(t, raw, audience, c)
	})
}

// FuzzVerifySigned signs arbitrary header and payload bytes with a key the
// verifier knows (as only Silo could) and checks that Verify accepts them
// only when the claims satisfy the policy: alg HS256, a known kid, iss
// "silo", aud containing the audience, non-empty sub and jti, iat present
// and not in the future, exp present and not past, nbf (if present) not in
// the future. Duplicate keys, case-folded keys, wrong JSON types and odd
// numbers are the fuzzer's to find.
func FuzzVerifySigned(f *testing.F) {
	keys := fuzzKeys(f)
	// Times: 1700000000 is 2023-11-14 (past), 4102444800 is 2100-01-01 (future).
	hdr := `{"alg":"HS256","kid":"a","typ":"JWT"}`
	ok := `{"iss":"silo","aud":["silo:central"],"sub":"u1","jti":"j1","iat":1700000000,"nbf":1700000000,"exp":4102444800}`
	f.Add([]byte(hdr), []byte(ok), token.CentralAudience)
	f.Add([]byte(`{"alg":"HS256","kid":"b"}`), []byte(`{"iss":"silo","aud":"silo:tenant:acme","sub":"u1","jti":"j1","iat":1700000000,"exp":4102444800,"tid":"acme"}`), token.TenantAudience("acme"))
	for _, p := range []string{
		`{"iss":"silo","aud":["silo:central"],"sub":"u1","jti":"j1","iat":1700000000,"exp":1700000001}`, // expired
		`{"iss":"silo","aud":["silo:central"],"sub":"u1","jti":"j1","exp":4102444800}`,                  // no iat
		`{"iss":"silo","aud":["silo:central"],"sub":"u1","jti":"j1","iat":4102444800,"exp":4102444800}`, // iat in the future
		`{"iss":"silo","aud":["silo:central"],"sub":"u1","jti":"j1","iat":1700000000,"nbf":4102444800,"exp":4102444800}`,
		`{"iss":"silo","aud":["silo:central"],"sub":"","jti":"j1","iat":1700000000,"exp":4102444800}`,
		`{"iss":"silo","aud":["silo:central"],"sub":"u1","iat":1700000000,"exp":4102444800}`,
		`{"iss":"evil","iss":"silo","aud":["silo:central"],"sub":"u1","jti":"j1","iat":1700000000,"exp":4102444800}`, // duplicate key
		`{"iss":"silo","ISS":"evil","aud":["silo:central"],"sub":"u1","jti":"j1","iat":1700000000,"exp":4102444800}`, // case-folded key
		`{"iss":"silo","aud":["x","silo:central"],"sub":"u1","jti":"j1","iat":1700000000,"exp":4102444800}`,
		`{"iss":"silo","aud":[1,"silo:central"],"sub":"u1","jti":"j1","iat":1700000000,"exp":4102444800}`,
		`{"iss":"silo","aud":"silo:central","sub":1,"jti":"j1","iat":1700000000,"exp":4102444800}`,
		`{"iss":"silo","aud":"silo:central","sub":"u1","jti":"j1","iat":"1700000000","exp":"4102444800"}`,
		`{"iss":"silo","aud":"silo:central","sub":"u1","jti":"j1","iat":1.7e9,"exp":1e300}`,
		`{"iss":"silo","aud":"silo:central","sub":"u1","jti":"j1","iat":-1e300,"exp":4.1024448e9}`,
		`{"iss":"silo","aud":"silo:central","sub":"u1","jti":"j1","iat":1700000000,"exp":4102444800,"act":{"sub":1}}`,
		`{"iss":"silo","aud":null,"sub":"u1","jti":"j1","iat":1700000000,"exp":4102444800}`,
		`[]`, `null`, `"x"`, `{}`, `{"exp":4102444800`,
	} {
		f.Add([]byte(hdr), []byte(p), token.CentralAudience)
	}
	f.Add([]byte(`{"alg":"none","kid":"a"}`), []byte(ok), token.CentralAudience)
	f.Add([]byte(`{"alg":"HS512","kid":"a"}`), []byte(ok), token.CentralAudience)
	f.Add([]byte(`{"alg":"HS256","kid":"c"}`), []byte(ok), token.CentralAudience)
	f.Add([]byte(`{"alg":"HS256","kid":["a"]}`), []byte(ok), token.CentralAudience)
	f.Add([]byte(`{"alg":"HS256"}`), []byte(ok), token.CentralAudience)
	f.Add([]byte(`{"alg":"HS256","kid":"a","alg":"none"}`), []byte(ok), token.CentralAudience)
	f.Add([]byte(hdr), []byte(ok), "")
	f.Add([]byte(hdr), []byte(ok), token.TenantAudience("acme"))
	f.Fuzz(func(t *testing.T, header, payload []byte, audience string) {
		enc := base64.RawURLEncoding
		signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
		mac := hmac.New(sha256.New, keyA)
		mac.Write([]byte(signing))
		raw := signing + "." + enc.EncodeToString(mac.Sum(nil))
		c, err := keys.Verify(raw, audience)
		if err != nil {
			if c != nil {
				t.Fatalf("Verify returned claims with error %v", err)
			}
			return
		}
		requireAccepted(t, raw, audience, c)
	})
}

// FuzzIssueVerify: a token Keys issued verifies for its audience (with a
// non-empty subject), round-trips its claims, and is refused for any other
// audience and by keys that have another secret under the same kid. Keys
// that know the signing key only for verification (after a rotation)
// accept it.
func FuzzIssueVerify(f *testing.F) {
	keys := fuzzKeys(f)
	impostor := newKeys(f, "a", map[string][]byte{"a": []byte("another-secret-another-secret-0123456")})
	rotated := newKeys(f, "b", map[string][]byte{"a": keyA, "b": keyB})
	f.Add(token.CentralAudience, token.TenantAudience("acme"), "user-1", "a@b.c", "")
	f.Add(token.TenantAudience("acme"), token.TenantAudience("acme2"), "user-1", "a@b.c", "acme")
	f.Add(token.TenantAudience("acme"), token.TenantAudience("ACME"), "u", "", "acme")
	f.Add(token.TenantAudience("acme"), token.TenantAudience("acme")+" ", "u", "", "acme")
	f.Add(token.TenantAudience("acme"), token.CentralAudience, "u", "", "acme")
	f.Add("", token.CentralAudience, "u", "", "")
	f.Add(token.CentralAudience, "", "", "", "")
	f.Add("silo:tenant:\u212aelvin", "silo:tenant:kelvin", "u\x00", "\xff\xfe", "\u212aelvin")
	f.Add("silo:tenant:a\x00", "silo:tenant:a", "\"}", "`'%", "a\r\n")
	f.Fuzz(func(t *testing.T, audience, other, subject, email, tid string) {
		raw, err := keys.Issue(audience, subject, token.Claims{Email: email, TenantID: tid, Actor: &token.Actor{Subject: subject}})
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		c, err := keys.Verify(raw, audience)
		// Claims travel as JSON, which replaces invalid UTF-8: a token
		// issued for an audience that is not valid UTF-8 names another
		// audience (Silo's audiences are ASCII: "silo:central" and
		// "silo:tenant:" + a checked slug).
		wantOK := subject != "" && audience != "" && audience == jsonRoundTrip(audience)
		switch {
		case wantOK && err != nil:
			t.Fatalf("Verify(%q, %q) of an issued token: %v", raw, audience, err)
		case !wantOK && err == nil:
			t.Fatalf("Verify accepted a token with subject %q, audience %q", subject, audience)
		case err != nil:
			return
		}
		requireAccepted(t, raw, audience, c)
		if c.Subject != jsonRoundTrip(subject) || c.Email != jsonRoundTrip(email) || c.TenantID != jsonRoundTrip(tid) ||
			c.Actor == nil || c.Actor.Subject != jsonRoundTrip(subject) || c.Issuer != token.Issuer {
			t.Fatalf("claims did not round-trip: %+v", c)
		}
		if len(c.Audience) != 1 || c.Audience[0] != jsonRoundTrip(audience) {
			t.Fatalf("audience %q, want [%q]", c.Audience, audience)
		}
		if other != audience && jsonRoundTrip(other) != jsonRoundTrip(audience) {
			if _, err := keys.Verify(raw, other); err == nil {
				t.Fatalf("a token for audience %q was accepted for %q", audience, other)
			}
		}
		if _, err := impostor.Verify(raw, audience); err == nil {
			t.Fatal("keys with another secret under the same kid accepted the token")
		}
		if _, err := rotated.Verify(raw, audience); err != nil {
			t.Fatalf("keys that verify kid a refused its token: %v", err)
		}
		forged, err := impostor.Issue(audience, subject, token.Claims{Email: email, TenantID: tid})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Verify(forged, audience); err == nil {
			t.Fatal("a token signed with another secret under kid a was accepted")
		}
	})
}

// FuzzTokenMutation applies a fuzzer-chosen list of edits to a valid token.
// Verify must refuse every mutant: one token has one spelling (strict
// base64url, so no padding and no stray low bits in the last character of
// the signature). The one exception is CR and LF, which Go's base64 decoder
// skips even in strict mode; they cannot reach Verify through an HTTP
// header, and a mutant that is the token once they are removed is allowed.
//
// edits is read in groups of four bytes: op, position (two bytes, big
// endian, modulo the token's length + 1) and a value.
func FuzzTokenMutation(f *testing.F) {
	keys := fuzzKeys(f)
	f.Add("user-1", []byte{0, 0, 10, 'x'})
	f.Add("user-1", []byte{1, 0, 0, '.'})
	f.Add("user-1", []byte{2, 0, 5, 0})
	f.Add("user-1", []byte{3, 0, 40, 0})
	f.Add("user-1", []byte{4, 0, 0, 0})
	f.Add("user-1", []byte{5, 0, 0, 1})
	f.Add("user-1", []byte{6, 0, 0, 0})
	f.Add("user-1", []byte{0, 0xff, 0xff, 'A'}) // last character of the signature
	f.Add("user-1", []byte{1, 0xff, 0xfe, '\n'})
	f.Add("user-1", []byte{1, 0, 3, '\r', 1, 0, 3, '\n'})
	f.Add("user-1", []byte{7, 0, 0, 0})
	f.Add("user-1", []byte{8, 0, 0, 0})
	for v := byte(0); v < 4; v++ { // the other spellings of the signature's last character
		f.Add("user-1", []byte{9, 0, 0, v})
	}
	f.Fuzz(func(t *testing.T, subject string, edits []byte) {
		if subject == "" {
			subject = "user-1"
		}
		raw, err := keys.Issue(token.CentralAudience, subject, token.Claims{Email: "a@b.c", IsCentralAdmin: true})
		if err != nil {
			t.Fatal(err)
		}
		mut := mutateToken(raw, edits)
		if mut == raw {
			return
		}
		if _, err := keys.Verify(mut, token.TenantAudience("acme")); err == nil {
			t.Fatalf("a central token (mutated to %q) was accepted for a tenant audience", mut)
		}
		c, err := keys.Verify(mut, token.CentralAudience)
		if err != nil {
			return
		}
		if strings.NewReplacer("\r", "", "\n", "").Replace(mut) != raw {
			t.Fatalf("mutated token accepted:\noriginal %q\nmutant   %q\nclaims %+v", raw, mut, c)
		}
	})
}

// mutateToken applies edits (see FuzzTokenMutation) to raw.
func mutateToken(raw string, edits []byte) string {
	b := []byte(raw)
	for i := 0; i+3 < len(edits) && i < 4*16; i += 4 {
		op, val := edits[i], edits[i+3]
		pos := (int(edits[i+1])<<8 | int(edits[i+2])) % (len(b) + 1)
		segs := bytes.Split(b, []byte("."))
		switch op % 10 {
		case 0: // replace a byte
			if pos < len(b) {
				b[pos] = val
			}
		case 1: // insert a byte
			b = append(b[:pos], append([]byte{val}, b[pos:]...)...)
		case 2: // delete a byte
			if pos < len(b) {
				b = append(b[:pos], b[pos+1:]...)
			}
		case 3: // truncate
			b = b[:pos]
		case 4: // flip one bit
			if pos < len(b) {
				b[pos] ^= 1 << (val % 8)
			}
		case 5: // swap two segments
			if len(segs) == 3 {
				x, y := int(val)%3, int(val/3)%3
				segs[x], segs[y] = segs[y], segs[x]
				b = bytes.Join(segs, []byte("."))
			}
		case 6: // drop the signature
			if len(segs) == 3 {
				b = bytes.Join(segs[:2], []byte("."))
				b = append(b, '.')
			}
		case 7: // re-encode the header with padding
			if len(segs) == 3 {
				segs[0] = []byte(base64.URLEncoding.EncodeToString(decodeLoose(string(segs[0]))))
				b = bytes.Join(segs, []byte("."))
			}
		case 8: // the signature in standard (not URL) base64
			if len(segs) == 3 {
				segs[2] = []byte(base64.RawStdEncoding.EncodeToString(decodeLoose(string(segs[2]))))
				b = bytes.Join(segs, []byte("."))
			}
		case 9: // set the two spare low bits of the signature's last character
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			if len(b) > 0 {
				if i := strings.IndexByte(alphabet, b[len(b)-1]); i >= 0 {
					b[len(b)-1] = alphabet[i&^3|int(val&3)]
				}
			}
		}
	}
	return string(b)
}

func decodeLoose(seg string) []byte {
	out, _ := base64.RawURLEncoding.DecodeString(seg)
	return out
}

// jsonRoundTrip is s as it comes back from JSON (invalid UTF-8 replaced).
func jsonRoundTrip(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// requireAccepted checks, without the jwt library, that a token Verify
// accepted for audience is one the policy allows, and that the returned
// claims are the token's.
func requireAccepted(t *testing.T, raw, audience string, c *token.Claims) {
	t.Helper()
	if c == nil {
		t.Fatal("Verify returned nil claims and no error")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted a token of %d segments: %q", len(parts), raw)
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("accepted an undecodable header %q: %v", parts[0], err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("accepted an undecodable payload %q: %v", parts[1], err)
	}
	h := lastValues(header, false)
	if h == nil || h["alg"] != `"HS256"` {
		t.Fatalf("accepted alg %s (header %s)", h["alg"], header)
	}
	if kid := h["kid"]; kid != `"a"` && kid != `"b"` {
		t.Fatalf("accepted kid %s (header %s)", kid, header)
	}
	// Claims decode into a struct, so keys match case-insensitively and
	// the last match wins, as in encoding/json.
	p := lastValues(payload, true)
	if p == nil {
		t.Fatalf("accepted a payload that is not an object: %s", payload)
	}
	if str(p["iss"]) != token.Issuer {
		t.Fatalf("accepted iss %s: %s", p["iss"], payload)
	}
	if !audienceHas(p["aud"], audience) {
		t.Fatalf("accepted aud %s for %q: %s", p["aud"], audience, payload)
	}
	if str(p["sub"]) == "" || str(p["jti"]) == "" {
		t.Fatalf("accepted empty sub or jti: %s", payload)
	}
	now := float64(time.Now().Unix())
	leeway := verifyLeeway.Seconds()
	exp, okExp := num(p["exp"])
	iat, okIat := num(p["iat"])
	if !okExp || exp < now-leeway {
		t.Fatalf("accepted exp %s (now %.0f): %s", p["exp"], now, payload)
	}
	if !okIat || iat > now+leeway {
		t.Fatalf("accepted iat %s (now %.0f): %s", p["iat"], now, payload)
	}
	if exp-iat > (ttl + token.LifetimeLeeway).Seconds() {
		t.Fatalf("accepted a lifetime of %.0f s (iat %s, exp %s): %s", exp-iat, p["iat"], p["exp"], payload)
	}
	if v, present := p["nbf"]; present && v != "null" {
		if nbf, ok := num(v); !ok || nbf > now+leeway {
			t.Fatalf("accepted nbf %s (now %.0f): %s", v, now, payload)
		}
	}
	if c.Subject != str(p["sub"]) || c.ID != str(p["jti"]) {
		t.Fatalf("claims %+v are not the token's: %s", c, payload)
	}
}

// lastValues returns the top-level members of a JSON object as raw JSON,
// the last occurrence of each key winning; with fold, keys are case-folded
// onto the registered claim names as encoding/json matches struct fields.
func lastValues(doc []byte, fold bool) map[string]string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	out := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		if fold {
			for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"} {
				if strings.EqualFold(key, name) {
					key = name
				}
			}
		}
		out[key] = string(v)
	}
	return out
}

func str(raw string) string {
	var s string
	if json.Unmarshal([]byte(raw), &s) != nil {
		return ""
	}
	return s
}

// num reads a NumericDate as jwt/v5 does: a JSON number, or a JSON string
// holding one (more lenient than RFC 7519, and harmless here).
func num(raw string) (float64, bool) {
	var n json.Number
	if raw == "null" || json.Unmarshal([]byte(raw), &n) != nil {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func audienceHas(raw, audience string) bool {
	if s := str(raw); s != "" {
		return s == audience
	}
	var list []string
	if json.Unmarshal([]byte(raw), &list) != nil {
		return false
	}
	for _, a := range list {
		if a == audience && a != "" {
			return true
		}
	}
	return false
}

package provisioning_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// validationCatalog is a Catalog that records what reaches it and stops
// Create before anything is written: the fuzz target below exercises the
// provisioner's validation and name derivation without a database.
// Methods the exercised paths do not use panic (through the nil embedded
// interface), which the fuzzer would report.
type validationCatalog struct {
	provisioning.Catalog
	created *central.Tenant
	slugs   []string // every slug that reached the catalog
	domains []string // the domains UpdateTenant was given
	updated bool
}

var errStop = errors.New("fuzz: stop before writing")

func (c *validationCatalog) TryLock(_ context.Context, name string) (func(), bool, error) {
	c.slugs = append(c.slugs, strings.TrimPrefix(name, "tenant:"))
	return func() {}, true, nil
}

func (c *validationCatalog) CreateTenant(_ context.Context, t *central.Tenant, _ central.Placement, _ bool) (bool, error) {
	cp := *t
	c.created = &cp
	return false, errStop
}

func (c *validationCatalog) Tenant(_ context.Context, slug string) (*central.Tenant, error) {
	c.slugs = append(c.slugs, slug)
	return nil, central.ErrTenantNotFound
}

func (c *validationCatalog) UpdateTenant(_ context.Context, slug string, _ *string, domains []string, setDomains bool) (*central.Tenant, error) {
	c.slugs = append(c.slugs, slug)
	c.updated, c.domains = setDomains, domains
	return nil, errStop
}

// addrOnly is a Server that only knows its address.
type addrOnly struct{ provisioning.Server }

func (addrOnly) Addr() string { return "127.0.0.1:3306" }

// fuzzPrefixes are legal SILO_TENANT_DB_PREFIX values (^[a-z][a-z0-9_]{0,15}$),
// the longest included: the derived database name must still fit.
var fuzzPrefixes = []string{"silo_t_", "t0a1b2c3d_", "p", "abcdefghijklmnop", "a_______________", "z9"}

const fuzzBaseDomain = "silo.test"

// FuzzTenantValidation feeds a slug, a name and comma-separated custom
// domains to Provisioner.Create and Update (and the slug to Get, Provision
// and Delete) and checks, against independent byte-level references:
//   - a slug is accepted iff it matches ^[a-z][a-z0-9-]{1,38}[a-z0-9]$ and is
//     not reserved, and no other slug ever reaches the catalog;
//   - the tenant database name and DB user derived from an accepted slug pass
//     tenantdb.ValidDatabase / ValidUser (and config.ValidDatabaseName), start
//     with the prefix, map back to the slug (no two slugs share a database)
//     and cannot collide with spare databases (prefix + digit);
//   - accepted names are trimmed, valid UTF-8, 1-200 characters, with no
//     control characters; accepted domains are lower-case host names of at
//     least two labels, not IP addresses, not under the base domain, unique.
//
// Rejections must be VALIDATION_FAILED (or TENANT_NOT_FOUND for a bad slug
// in a lookup), never another error.
//
//	go test -run='^$' -fuzz='^FuzzTenantValidation$' -fuzztime=30s ./provisioning
func FuzzTenantValidation(f *testing.F) {
	box, err := secretbox.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		f.Fatal(err)
	}
	guard := login.NewGuard(login.GuardOptions{Cost: 4, PerIPPerMinute: 1000, PerEmailPerMinute: 1000})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	long := strings.Repeat("a", 40)
	for _, s := range []struct {
		slug, name, domains string
		prefix              uint8
	}{
		{"acme", "Acme Corp", "acme.example.com", 0},
		{"acme-corp", "Acme", "", 3},
		{long, "Long", "", 3},
		{long + "a", "Too long", "", 3},
		{"ab", "Too short", "", 0},
		{"a-b", "x", "a.io,b.io", 1},
		{"acme-", "x", "", 0},
		{"-acme", "x", "", 0},
		{"1acme", "x", "", 0},
		{"Acme", "x", "", 0},
		{"acme_corp", "x", "", 0},
		{"acme\n", "x", "", 0},
		{"acme\r\n", "x", "", 0},
		{"acme\x00", "x", "", 0},
		{"\nacme", "x", "", 0},
		{" acme ", "x", "", 0},
		{"acm\u0435", "cyrillic e", "", 0},
		{"\u212acme", "Kelvin sign", "", 0},
		{"ａｃｍｅ", "fullwidth", "", 0},
		{"acme`; DROP DATABASE mysql; --", "x", "", 0},
		{"acme'--", "x", "", 0},
		{"acme%", "x", "", 0},
		{"api", "reserved", "", 0},
		{"information_schema", "reserved", "", 0},
		{"mysql", "reserved", "", 0},
		{"acme", "", "", 0},
		{"acme", "   ", "", 0},
		{"acme", "  Acme  ", "", 0},
		{"acme", "a\x00b", "", 0},
		{"acme", "a\u0085b", "", 0},
		{"acme", "a\u2028b", "", 0},
		{"acme", "\xff\xfe", "", 0},
		{"acme", strings.Repeat("é", 200), "", 0},
		{"acme", strings.Repeat("é", 201), "", 0},
		{"acme", strings.Repeat("😀", 200), "", 0},
		{"acme", "Robert'); DROP TABLE tenants;--", "", 0},
		{"acme", "x", "ACME.Example.COM.", 0},
		{"acme", "x", "acme.silo.test", 0},
		{"acme", "x", "silo.test", 0},
		{"acme", "x", "evil.silo.test.", 0},
		{"acme", "x", "a.io,A.IO", 0},
		{"acme", "x", "127.0.0.1", 0},
		{"acme", "x", "::1", 0},
		{"acme", "x", "[::1]", 0},
		{"acme", "x", "localhost", 0},
		{"acme", "x", "acme.example.com:8080", 0},
		{"acme", "x", "*.example.com", 0},
		{"acme", "x", "a_b.example.com", 0},
		{"acme", "x", "-a.example.com", 0},
		{"acme", "x", "a-.example.com", 0},
		{"acme", "x", "a..example.com", 0},
		{"acme", "x", ".example.com", 0},
		{"acme", "x", "example.123", 0},
		{"acme", "x", "xn--bcher-kva.example", 0},
		{"acme", "x", "bücher.example", 0},
		{"acme", "x", "a.example.com\n", 0},
		{"acme", "x", " a.example.com ", 0},
		{"acme", "x", "a.example.com\x00.evil.com", 0},
		{"acme", "x", strings.Repeat("a", 63) + ".io", 0},
		{"acme", "x", strings.Repeat("a", 64) + ".io", 0},
		{"acme", "x", strings.Repeat(strings.Repeat("a", 63)+".", 4) + "io", 0},
		{"acme", "x", strings.Repeat("a.", 20) + "io", 0},
		{"acme", "x", strings.Repeat("a.io,", 21), 0},
		{"acme", "x", "a.io%00", 0},
		{"acme", "x", "a.io`", 0},
	} {
		f.Add(s.slug, s.name, s.domains, s.prefix)
	}
	f.Fuzz(func(t *testing.T, slug, name, domainList string, prefixIdx uint8) {
		prefix := fuzzPrefixes[int(prefixIdx)%len(fuzzPrefixes)]
		var domains []string
		if domainList != "" {
			domains = strings.Split(domainList, ",")
		}
		cat := &validationCatalog{}
		p := provisioning.New(cat, provisioning.OneServer(addrOnly{}), box, guard, provisioning.Options{Prefix: prefix, BaseDomain: fuzzBaseDomain, Log: log})
		ctx := central.WithActor(context.Background(), central.Actor{Kind: "system"})

		_, err := p.Create(ctx, provisioning.NewTenant{Slug: slug, Name: name, Domains: append([]string(nil), domains...)})
		slugOK := strictSlug(slug) && provisioning.ValidSlug(slug)
		if provisioning.SlugPattern.MatchString(slug) != strictSlug(slug) {
			t.Fatalf("SlugPattern.MatchString(%q) = %v, reference says %v", slug, !strictSlug(slug), strictSlug(slug))
		}
		switch {
		case cat.created != nil:
			if !errors.Is(err, errStop) {
				t.Fatalf("Create reached the catalog but returned %v", err)
			}
			requireAcceptedTenant(t, cat.created, prefix, slug, name, domains)
		case err == nil:
			t.Fatal("Create succeeded without reaching the catalog")
		default:
			if !apperr.Is(err, "VALIDATION_FAILED") {
				t.Fatalf("Create refused with %v, want VALIDATION_FAILED", err)
			}
			if hasField(err, "slug") == slugOK {
				t.Fatalf("Create(slug %q): slug refused = %v, but the strict pattern (and reserved list) say valid = %v: %v",
					slug, hasField(err, "slug"), slugOK, err)
			}
		}

		// Update: the name and domains are checked as for Create, and only a
		// well-formed slug reaches the catalog.
		before := len(cat.slugs)
		_, err = p.Update(ctx, slug, &name, &domains)
		if len(cat.slugs) > before {
			if !errors.Is(err, errStop) {
				t.Fatalf("Update reached the catalog but returned %v", err)
			}
			if !cat.updated {
				t.Fatal("Update with domains did not ask to set them")
			}
			for _, d := range cat.domains {
				requireDomain(t, d)
			}
			requireNoDuplicates(t, cat.domains)
			if len(cat.domains) != len(domains) {
				t.Fatalf("Update kept %d of %d domains without refusing: %q", len(cat.domains), len(domains), domains)
			}
		} else if !apperr.Is(err, "VALIDATION_FAILED") && !apperr.Is(err, "TENANT_NOT_FOUND") {
			t.Fatalf("Update refused with %v", err)
		}

		// Lookups by slug.
		_, _ = p.Get(ctx, slug)
		_, _ = p.Provision(ctx, slug)
		_ = p.Delete(ctx, slug, true)
		for _, s := range cat.slugs {
			if !strictSlug(s) {
				t.Fatalf("slug %q reached the catalog", s)
			}
		}
	})
}

func requireAcceptedTenant(t *testing.T, tn *central.Tenant, prefix, slug, name string, domains []string) {
	t.Helper()
	if tn.Slug != slug || !strictSlug(slug) || !provisioning.ValidSlug(slug) {
		t.Fatalf("accepted slug %q (stored as %q)", slug, tn.Slug)
	}
	db, user := tn.DatabaseName, tn.DBUser
	if !tenantdb.ValidDatabase(db) || !config.ValidDatabaseName(db) || len(db) > 64 {
		t.Fatalf("slug %q, prefix %q: database name %q fails ValidDatabase", slug, prefix, db)
	}
	if !tenantdb.ValidUser(user) || len(user) > 32 {
		t.Fatalf("slug %q, prefix %q: DB user %q fails ValidUser", slug, prefix, user)
	}
	rest, ok := strings.CutPrefix(db, prefix)
	if !ok || strings.ReplaceAll(rest, "_", "-") != slug {
		t.Fatalf("database name %q does not map back to prefix %q + slug %q", db, prefix, slug)
	}
	if rest == "" || rest[0] < 'a' || rest[0] > 'z' {
		t.Fatalf("database name %q could collide with a spare database (prefix + digit)", db)
	}
	if !strings.HasPrefix(user, prefix) {
		t.Fatalf("DB user %q lacks the prefix %q", user, prefix)
	}
	if tn.Name != strings.TrimSpace(name) || tn.Name == "" || !utf8.ValidString(tn.Name) ||
		utf8.RuneCountInString(tn.Name) > 200 || strings.IndexFunc(tn.Name, unicode.IsControl) >= 0 {
		t.Fatalf("accepted name %q (stored as %q)", name, tn.Name)
	}
	if len(tn.Domains) != len(domains) {
		t.Fatalf("Create kept %d of %d domains without refusing: %q -> %q", len(tn.Domains), len(domains), domains, tn.Domains)
	}
	for _, d := range tn.Domains {
		requireDomain(t, d)
	}
	requireNoDuplicates(t, tn.Domains)
}

// requireDomain checks an accepted custom domain against a reference.
func requireDomain(t *testing.T, d string) {
	t.Helper()
	if !strictHostname(d) {
		t.Fatalf("accepted domain %q is not a strict host name", d)
	}
	if net.ParseIP(d) != nil {
		t.Fatalf("accepted domain %q is an IP address", d)
	}
	if d == fuzzBaseDomain || strings.HasSuffix(d, "."+fuzzBaseDomain) {
		t.Fatalf("accepted domain %q is under the base domain", d)
	}
}

func requireNoDuplicates(t *testing.T, ds []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d] {
			t.Fatalf("domain %q accepted twice: %q", d, ds)
		}
		seen[d] = true
	}
}

func hasField(err error, field string) bool {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, d := range e.Details {
		if d.Field == field {
			return true
		}
	}
	return false
}

// strictSlug is a byte-level reference for ^[a-z][a-z0-9-]{1,38}[a-z0-9]$.
func strictSlug(s string) bool {
	if len(s) < 3 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		lower, digit := c >= 'a' && c <= 'z', c >= '0' && c <= '9'
		switch {
		case i == 0 && !lower:
			return false
		case i == len(s)-1 && !lower && !digit:
			return false
		case !lower && !digit && c != '-':
			return false
		}
	}
	return true
}

// strictHostname is a byte-level reference for a lower-case DNS name of at
// least two labels, each 1-63 of [a-z0-9-] not starting or ending with '-',
// the last starting with a letter, at most 253 bytes in all.
func strictHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for i, l := range labels {
		if len(l) < 1 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		if i == len(labels)-1 && (l[0] < 'a' || l[0] > 'z') {
			return false
		}
	}
	return true
}

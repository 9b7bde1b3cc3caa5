package provisioning

import (
	"net"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/login"
)

// SlugPattern is API.md's tenant slug: 3 to 40 characters.
var SlugPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)

// reserved slugs name infrastructure or would be confusing as subdomains.
var reserved = map[string]bool{
	"central": true, "admin": true, "api": true, "www": true, "mysql": true,
	"information_schema": true, "performance_schema": true, "sys": true, "test": true,
	"root": true, "silo": true, "app": true, "auth": true, "login": true, "mail": true,
	"smtp": true, "ftp": true, "localhost": true, "static": true, "assets": true, "cdn": true,
	"status": true, "health": true, "metrics": true, "docs": true, "help": true,
	"support": true, "billing": true, "dashboard": true, "console": true, "system": true,
}

// ValidSlug reports whether slug is well-formed and not reserved.
func ValidSlug(slug string) bool { return SlugPattern.MatchString(slug) && !reserved[slug] }

func checkSlug(v *apperr.Validator, slug string) {
	switch {
	case !SlugPattern.MatchString(slug):
		v.Add("slug", "must be 3-40 characters: lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen")
	case reserved[slug]:
		v.Add("slug", "is reserved")
	}
}

func checkTenantName(v *apperr.Validator, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		v.Add("name", "is required")
	case !utf8.ValidString(name):
		v.Add("name", "must be valid UTF-8")
	case utf8.RuneCountInString(name) > 200:
		v.Add("name", "must be at most 200 characters")
	case !login.PlainText(name):
		v.Add("name", "must not contain control or invisible formatting characters")
	}
}

var hostnamePattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

const maxDomains = 20

// NormalizeDomain is a custom domain as it is stored and compared:
// lower-case, without surrounding spaces or a final dot.
func NormalizeDomain(raw string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
}

// normalizeDomains lower-cases and checks custom domains; a domain under the
// base domain is refused because its subdomains already name tenants.
func normalizeDomains(v *apperr.Validator, domains []string, baseDomain string) []string {
	if len(domains) > maxDomains {
		v.Add("domains", "at most 20 domains per tenant")
		return nil
	}
	out := make([]string, 0, len(domains))
	seen := map[string]bool{}
	for _, raw := range domains {
		d := NormalizeDomain(raw)
		switch {
		case len(d) > 253 || !hostnamePattern.MatchString(d) || net.ParseIP(d) != nil:
			v.Add("domains", "is not a valid domain name: "+quoteShort(raw))
			continue
		case baseDomain != "" && (d == baseDomain || strings.HasSuffix(d, "."+baseDomain)):
			v.Add("domains", d+" is under the base domain, whose subdomains already name tenants")
			continue
		case seen[d]:
			v.Add("domains", d+" is listed twice")
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, `"`+s+`"`)
}

// NewAdmin is a tenant's optional first tenant_admin.
type NewAdmin struct {
	Email, Password, FirstName, LastName string
}

func (a *NewAdmin) check(v *apperr.Validator) {
	a.Email = login.NewUser(*a).Check(v, "admin.")
}

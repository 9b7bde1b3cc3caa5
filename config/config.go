// Package config loads Silo's settings from environment variables, with
// command-line flags overriding them, and validates them all at once so that
// an operator sees every problem in one run. It imports nothing of Silo's.
package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Tenant connection modes (SILO_TENANT_CONN_MODE).
const (
	ConnPerTenant = "per-tenant"
	ConnShared    = "shared"
)

// Config is the validated configuration of one Silo process.
type Config struct {
	Env            string
	Listen         string
	CentralDSN     *mysql.Config // with Silo's connection defaults applied
	TenantAdminDSN *mysql.Config // no database selected
	TenantDBPrefix string
	BaseDomain     string

	// JWT signing key and its id; VerifyKeys holds every key accepted for
	// verification by kid, the signing key included. RetiredKeys says when
	// each older key stopped signing: it verifies only tokens issued before.
	JWTKeyID    string
	JWTSecret   []byte
	VerifyKeys  map[string][]byte
	RetiredKeys map[string]time.Time
	MasterKey   []byte // 32 bytes, AES-256-GCM for secrets at rest

	BcryptCost      int
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration

	SparePoolSize        int
	ProvisionConcurrency int
	TenantPoolsMax       int
	TenantConnsMax       int
	TenantPoolConns      int
	TrustedProxies       []string // CIDRs

	// CORSOrigins are the browser origins (scheme://host[:port], in the
	// form browsers send them) allowed to read Silo's answers from another
	// origin; a tenant's custom domains are allowed on its own routes too.
	CORSOrigins []string

	// AuthCacheTTL bounds how long an authenticated caller is kept in
	// memory (0: not at all); AuthCacheEntries bounds how many are kept.
	AuthCacheTTL     time.Duration
	AuthCacheEntries int

	// TenantConnMode is how tenant requests reach their database:
	// ConnPerTenant (each tenant's own DB user, the default) or ConnShared
	// (one login per server switched to the tenant's role per request).
	TenantConnMode string

	// Login attempts allowed per minute, per client IP and per email.
	LoginPerIPPerMinute    int
	LoginPerEmailPerMinute int
	// Sign-ups allowed per minute per tenant, and whether new tenants start
	// with public sign-up on.
	SignupPerTenantPerMinute int
	DefaultPublicSignup      bool

	LogLevel  string
	LogFormat string

	// Warnings are notes for the operator produced while loading (for
	// example: development secrets were generated). Never secrets themselves.
	Warnings []string
}

// Loader binds Silo's flags to a flag set; call Load after parsing it.
type Loader struct {
	getenv func(string) string
	fs     *flag.FlagSet
	values map[string]*string

	// SkipSecrets leaves the JWT and master keys unloaded, for commands
	// that need neither (migrations, creating an admin).
	SkipSecrets bool
}

// setting describes one configuration value: its environment variable, flag
// name, default and help text.
type setting struct {
	env, flag, def, help string
	secret               bool
}

var settings = []setting{
	{"SILO_ENV", "env", Development, "development or production", false},
	{"SILO_LISTEN", "listen", "127.0.0.1:8080", "HTTP listen address", false},
	{"SILO_CENTRAL_DSN", "central-dsn", "root@tcp(127.0.0.1:3306)/silo_central", "central database DSN (go-sql-driver format)", true},
	{"SILO_TENANT_ADMIN_DSN", "tenant-admin-dsn", "", "DSN of the account that creates tenant databases and users (default: the central DSN's server)", true},
	{"SILO_TENANT_DB_PREFIX", "tenant-db-prefix", "silo_t_", "prefix of tenant database names", false},
	{"SILO_SPARE_POOL_SIZE", "spare-pool-size", "2", "spare, fully migrated tenant databases kept ready for fast tenant creation (0 disables)", false},
	{"SILO_PROVISION_CONCURRENCY", "provision-concurrency", "4", "tenant provisioning runs at once per instance", false},
	{"SILO_TENANT_POOLS_MAX", "tenant-pools-max", "1000", "open per-tenant connection pools (least recently used closed first)", false},
	{"SILO_TENANT_CONNS_MAX", "tenant-conns-max", "100", "open tenant database connections across all pools, never exceeded", false},
	{"SILO_TENANT_POOL_CONNS", "tenant-pool-conns", "1", "open (and idle) connections per tenant pool", false},
	{"SILO_AUTH_CACHE_TTL", "auth-cache-ttl", "60s", "longest time an authenticated caller (user, roles, permissions, API key) is kept in memory; 0 reads it from the tenant database on every request", false},
	{"SILO_AUTH_CACHE_ENTRIES", "auth-cache-entries", "50000", "authenticated callers kept in memory across all tenants (least recently used dropped first)", false},
	{"SILO_TENANT_CONN_MODE", "tenant-conn-mode", ConnPerTenant, "per-tenant (each tenant's own DB user, the strongest isolation) or shared (one login per server switched to each tenant's role per request; see docs/SECURITY.md)", false},
	{"SILO_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated IPs/CIDRs whose X-Forwarded-For and X-Forwarded-Host are believed", false},
	{"SILO_BASE_DOMAIN", "base-domain", "", "base domain whose subdomains name tenants (e.g. example.com)", false},
	{"SILO_CORS_ORIGINS", "cors-origins", "", "comma-separated browser origins allowed to call the API from another origin, each exactly scheme://host[:port] (e.g. https://app.example.com); a tenant's custom domains are allowed on its own routes without being listed", false},
	{"SILO_JWT_SECRET", "jwt-secret", "", "HS256 signing key: at least 32 random bytes in standard base64 (openssl rand -base64 32); the key is the decoded bytes", true},
	{"SILO_JWT_KID", "jwt-kid", "", "key id of the signing secret (default: derived from the secret)", false},
	{"SILO_JWT_VERIFY_KEYS", "jwt-verify-keys", "", "retired keys still accepted for tokens issued before they retired: kid:secret:RFC3339-time,... (each secret written as SILO_JWT_SECRET is)", true},
	{"SILO_MASTER_KEY", "master-key", "", "key that encrypts secrets at rest: exactly 32 random bytes in standard base64 (openssl rand -base64 32)", true},
	{"SILO_BCRYPT_COST", "bcrypt-cost", "12", "bcrypt cost for passwords (production: at least 10)", false},
	{"SILO_ACCESS_TOKEN_TTL", "access-token-ttl", "15m", "lifetime of access tokens", false},
	{"SILO_REFRESH_TOKEN_TTL", "refresh-token-ttl", "720h", "lifetime of refresh tokens", false},
	{"SILO_REQUEST_TIMEOUT", "request-timeout", "15s", "deadline of one HTTP request", false},
	{"SILO_SHUTDOWN_TIMEOUT", "shutdown-timeout", "20s", "how long shutdown waits for in-flight requests", false},
	{"SILO_LOGIN_IP_LIMIT", "login-ip-limit", "20", "failed logins per minute per client IP; also sign-ups and invitation acceptances per minute per client IP", false},
	{"SILO_LOGIN_EMAIL_LIMIT", "login-email-limit", "5", "failed logins per minute per account from one client IP", false},
	{"SILO_SIGNUP_TENANT_LIMIT", "signup-tenant-limit", "30", "public sign-ups per minute per tenant", false},
	{"SILO_DEFAULT_PUBLIC_SIGNUP", "default-public-signup", "false", "whether new tenants start with public sign-up on (allowPublicSignup)", false},
	{"SILO_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", false},
	{"SILO_LOG_FORMAT", "log-format", "text", "text or json", false},
	{"SILO_DEV_SECRETS_FILE", "dev-secrets-file", "", "absolute path where development keeps generated secrets (default: silo/dev-secrets.json in the user's config directory, e.g. ~/.config/silo/dev-secrets.json)", false},
}

// Settings lists every variable with its default and meaning, for docs and --help.
func Settings() [][3]string {
	out := make([][3]string, 0, len(settings))
	for _, s := range settings {
		out = append(out, [3]string{s.env, s.def, s.help})
	}
	return out
}

// NewLoader registers Silo's flags on fs. Environment values (read through
// getenv) are the defaults; flags given on the command line override them.
func NewLoader(fs *flag.FlagSet, getenv func(string) string) *Loader {
	l := &Loader{getenv: getenv, fs: fs, values: map[string]*string{}}
	for _, s := range settings {
		def := s.def
		if v, ok := lookup(getenv, s.env); ok {
			def = v
		}
		help := s.help + " ($" + s.env + ")"
		if s.secret {
			// Keep secrets (and DSNs, which hold passwords) out of --help output.
			l.values[s.env] = new(string)
			*l.values[s.env] = def
			fs.Func(s.flag, help, func(v string) error { *l.values[s.env] = v; return nil })
			continue
		}
		l.values[s.env] = fs.String(s.flag, def, help)
	}
	return l
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

var (
	dbNamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,15}$`)
	kidPattern    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ValidDatabaseName reports whether name is safe to quote into SQL as a
// database name.
func ValidDatabaseName(name string) bool { return dbNamePattern.MatchString(name) }

// checkPrefix validates the tenant database prefix, also against the
// central database's name.
func checkPrefix(prefix string, central *mysql.Config, bad func(string, string, ...any)) {
	if !prefixPattern.MatchString(prefix) {
		bad("SILO_TENANT_DB_PREFIX", "must match %s (lower-case letter first, at most 16 characters)", prefixPattern)
	} else if central != nil && CentralMayBeTenant(prefix, central.DBName) {
		bad("SILO_TENANT_DB_PREFIX", "tenant databases are named %q followed by the slug, so the central database %q could be a tenant's database or match a tenant's grant (`_` is a wildcard in grants): choose a prefix the central database name does not start with",
			prefix, central.DBName)
	}
}

// CentralMayBeTenant reports whether a tenant database name (prefix, then
// a name derived from a slug or a spare's name) could equal the central
// database's name or match it as a grant pattern, where `_` stands for any
// character: whenever the central name starts with the prefix, `_` read
// as a wildcard.
func CentralMayBeTenant(prefix, centralDB string) bool {
	c := strings.ToLower(centralDB)
	if len(c) <= len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if prefix[i] != '_' && prefix[i] != c[i] {
			return false
		}
	}
	return true
}

// Load validates every setting and returns the configuration, or an error
// listing each problem on its own line.
func (l *Loader) Load() (*Config, error) {
	var problems []string
	bad := func(env, format string, args ...any) {
		problems = append(problems, env+": "+fmt.Sprintf(format, args...))
	}
	get := func(env string) string { return strings.TrimSpace(*l.values[env]) }
	c := &Config{}

	// The order matters: later checks read what earlier ones set (the
	// environment, the central DSN, the access token lifetime), and the
	// problems are listed in the order they are found.
	loadServer(c, get, bad)
	loadDatabases(c, get, bad)
	l.loadLimits(c, get, bad)
	loadLogging(c, get, bad)
	if !l.SkipSecrets {
		l.loadSecrets(c, get, bad)
	}

	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return c, nil
}

// loadServer reads the environment, the listen address and the browser
// origins allowed to call it.
func loadServer(c *Config, get func(string) string, bad func(string, string, ...any)) {
	c.Env = strings.ToLower(get("SILO_ENV"))
	if c.Env != Development && c.Env != Production {
		bad("SILO_ENV", "must be %q or %q, got %q", Development, Production, c.Env)
	}
	c.Listen = get("SILO_LISTEN")
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("SILO_LISTEN", "must be host:port, got %q", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("SILO_LISTEN", "port must be 0-65535, got %q", port)
	}
	c.CORSOrigins = corsOrigins(get("SILO_CORS_ORIGINS"), bad)
}

// loadDatabases reads the central and tenant-admin DSNs, the tenant
// database prefix and the base domain. Without its own DSN, the tenant
// admin is the central DSN's account on the same server.
func loadDatabases(c *Config, get func(string) string, bad func(string, string, ...any)) {
	central, err := ParseDSN(get("SILO_CENTRAL_DSN"))
	if err != nil {
		bad("SILO_CENTRAL_DSN", "%v", err)
	} else if !ValidDatabaseName(central.DBName) {
		bad("SILO_CENTRAL_DSN", "must name a database of letters, digits and underscores (e.g. .../silo_central)")
	}
	c.CentralDSN = central
	if v := get("SILO_TENANT_ADMIN_DSN"); v != "" {
		admin, err := ParseDSN(v)
		if err != nil {
			bad("SILO_TENANT_ADMIN_DSN", "%v", err)
		} else {
			admin.DBName = ""
			c.TenantAdminDSN = admin
		}
	} else if central != nil {
		admin := central.Clone()
		admin.DBName = ""
		c.TenantAdminDSN = admin
	}

	c.TenantDBPrefix = get("SILO_TENANT_DB_PREFIX")
	checkPrefix(c.TenantDBPrefix, central, bad)
	c.BaseDomain = strings.TrimSuffix(strings.ToLower(get("SILO_BASE_DOMAIN")), ".")
	if c.BaseDomain != "" && (len(c.BaseDomain) > 253 || !domainPattern.MatchString(c.BaseDomain)) {
		bad("SILO_BASE_DOMAIN", "must be a domain name such as example.com, got %q", c.BaseDomain)
	}
}

// loadLimits reads costs, pool sizes, trusted proxies, rate limits and
// timeouts. The bcrypt floor depends on c.Env, so loadServer runs first.
func (l *Loader) loadLimits(c *Config, get func(string) string, bad func(string, string, ...any)) {
	if cost, ok := l.intSetting("SILO_BCRYPT_COST", 4, 16, bad); ok {
		c.BcryptCost = cost
		if c.Env == Production && cost < 10 {
			bad("SILO_BCRYPT_COST", "must be at least 10 in production, got %d", cost)
		}
	}
	c.SparePoolSize, _ = l.intSetting("SILO_SPARE_POOL_SIZE", 0, 100, bad)
	c.ProvisionConcurrency, _ = l.intSetting("SILO_PROVISION_CONCURRENCY", 1, 64, bad)
	c.TenantPoolsMax, _ = l.intSetting("SILO_TENANT_POOLS_MAX", 1, 1000000, bad)
	c.TenantConnsMax, _ = l.intSetting("SILO_TENANT_CONNS_MAX", 1, 100000, bad)
	c.TenantPoolConns, _ = l.intSetting("SILO_TENANT_POOL_CONNS", 1, 100, bad)
	c.TenantConnMode = get("SILO_TENANT_CONN_MODE")
	if c.TenantConnMode != ConnPerTenant && c.TenantConnMode != ConnShared {
		bad("SILO_TENANT_CONN_MODE", "must be %s or %s, got %q", ConnPerTenant, ConnShared, c.TenantConnMode)
	}
	c.TrustedProxies = trustedProxies(get("SILO_TRUSTED_PROXIES"), bad)
	c.AuthCacheTTL = l.durationSetting("SILO_AUTH_CACHE_TTL", 0, 10*time.Minute, bad)
	c.AuthCacheEntries, _ = l.intSetting("SILO_AUTH_CACHE_ENTRIES", 16, 10000000, bad)
	c.LoginPerIPPerMinute, _ = l.intSetting("SILO_LOGIN_IP_LIMIT", 1, 100000, bad)
	c.LoginPerEmailPerMinute, _ = l.intSetting("SILO_LOGIN_EMAIL_LIMIT", 1, 100000, bad)
	c.SignupPerTenantPerMinute, _ = l.intSetting("SILO_SIGNUP_TENANT_LIMIT", 1, 1000000, bad)
	c.DefaultPublicSignup = l.boolSetting("SILO_DEFAULT_PUBLIC_SIGNUP", bad)
	c.AccessTokenTTL = l.durationSetting("SILO_ACCESS_TOKEN_TTL", time.Minute, 24*time.Hour, bad)
	c.RefreshTokenTTL = l.durationSetting("SILO_REFRESH_TOKEN_TTL", time.Hour, 365*24*time.Hour, bad)
	c.RequestTimeout = l.durationSetting("SILO_REQUEST_TIMEOUT", time.Second, 10*time.Minute, bad)
	c.ShutdownTimeout = l.durationSetting("SILO_SHUTDOWN_TIMEOUT", time.Second, 10*time.Minute, bad)
}

// trustedProxies parses a comma-separated list of IPs and CIDRs into CIDRs;
// a bare IP becomes a /32 (IPv4) or /128 (IPv6) network.
func trustedProxies(v string, bad func(string, string, ...any)) []string {
	var cidrs []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		if _, _, err := net.ParseCIDR(p); err != nil {
			bad("SILO_TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
			continue
		}
		cidrs = append(cidrs, p)
	}
	return cidrs
}

// loadLogging reads the log level and format.
func loadLogging(c *Config, get func(string) string, bad func(string, string, ...any)) {
	c.LogLevel = strings.ToLower(get("SILO_LOG_LEVEL"))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("SILO_LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	c.LogFormat = strings.ToLower(get("SILO_LOG_FORMAT"))
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("SILO_LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
}

// Error lists every configuration problem, one per line.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// boolSetting parses true or false (any letter case).
func (l *Loader) boolSetting(env string, bad func(string, string, ...any)) bool {
	v := strings.ToLower(strings.TrimSpace(*l.values[env]))
	if v != "true" && v != "false" {
		bad(env, "must be true or false, got %q", v)
	}
	return v == "true"
}

// intSetting parses a whole number in [lo, hi], reporting at most one problem.
func (l *Loader) intSetting(env string, lo, hi int, bad func(string, string, ...any)) (int, bool) {
	v := strings.TrimSpace(*l.values[env])
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		bad(env, "must be a whole number from %d to %d, got %q", lo, hi, v)
		return 0, false
	}
	return n, true
}

func (l *Loader) durationSetting(env string, lo, hi time.Duration, bad func(string, string, ...any)) time.Duration {
	v := strings.TrimSpace(*l.values[env])
	d, err := time.ParseDuration(v)
	if err != nil {
		bad(env, "must be a duration such as 15m or 30s, got %q", v)
		return 0
	}
	if d < lo || d > hi {
		bad(env, "must be between %s and %s, got %s", lo, hi, d)
	}
	return d
}

func (l *Loader) loadSecrets(c *Config, get func(string) string, bad func(string, string, ...any)) {
	jwtSecret, masterKey := get("SILO_JWT_SECRET"), get("SILO_MASTER_KEY")
	if (jwtSecret == "" || masterKey == "") && c.Env == Development {
		dev, warning, err := loadDevSecrets(get("SILO_DEV_SECRETS_FILE"), l.getenv)
		if err != nil {
			bad("SILO_DEV_SECRETS_FILE", "%v", err)
			return
		}
		if warning != "" {
			c.Warnings = append(c.Warnings, warning)
		}
		if jwtSecret == "" {
			jwtSecret = dev.JWTSecret
		}
		if masterKey == "" {
			masterKey = dev.MasterKey
		}
	}

	if jwtSecret == "" {
		bad("SILO_JWT_SECRET", "is required in production (openssl rand -base64 32)")
	} else if key, err := DecodeJWTKey(jwtSecret); err != nil {
		bad("SILO_JWT_SECRET", "%v", err)
	} else {
		c.JWTSecret = key
	}
	c.JWTKeyID = get("SILO_JWT_KID")
	if c.JWTKeyID == "" && c.JWTSecret != nil {
		c.JWTKeyID = DeriveKeyID(c.JWTSecret)
	}
	if c.JWTKeyID != "" && !kidPattern.MatchString(c.JWTKeyID) {
		bad("SILO_JWT_KID", "must match %s", kidPattern)
	}
	c.VerifyKeys = map[string][]byte{}
	if c.JWTSecret != nil {
		c.VerifyKeys[c.JWTKeyID] = c.JWTSecret
	}
	c.RetiredKeys = map[string]time.Time{}
	if v := get("SILO_JWT_VERIFY_KEYS"); v != "" {
		for i, item := range strings.Split(v, ",") {
			l.retiredKey(c, i+1, strings.TrimSpace(item), bad)
		}
	}

	if masterKey == "" {
		bad("SILO_MASTER_KEY", "is required in production (openssl rand -base64 32)")
		return
	}
	key, err := DecodeMasterKey(masterKey)
	if err != nil {
		bad("SILO_MASTER_KEY", "%v", err)
		return
	}
	c.MasterKey = key
}

// retiredKeyPattern is one SILO_JWT_VERIFY_KEYS entry: kid, secret (which
// may hold colons) and the RFC 3339 time the key stopped signing.
var retiredKeyPattern = regexp.MustCompile(`^([^:]*):(.*):(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))$`)

// retiredKey parses entry n of SILO_JWT_VERIFY_KEYS into c. An entry without
// a retirement time (the old kid:secret form) is refused: such a key would
// verify tokens minted today by whoever holds it.
func (l *Loader) retiredKey(c *Config, n int, item string, bad func(string, string, ...any)) {
	m := retiredKeyPattern.FindStringSubmatch(item)
	if m == nil {
		// Nothing of the entry is echoed: where its secret starts is unknown.
		bad("SILO_JWT_VERIFY_KEYS", "entry %d must be kid:secret:retired, retired being the RFC 3339 time the key stopped signing "+
			"(e.g. KID:SECRET:%s); the key then verifies only tokens issued before that time", n, time.Now().UTC().Format("2006-01-02T15:04:05Z"))
		return
	}
	kid := m[1]
	key, keyErr := DecodeJWTKey(m[2])
	at, err := time.Parse(time.RFC3339, m[3])
	switch {
	case !kidPattern.MatchString(kid):
		bad("SILO_JWT_VERIFY_KEYS", "entry %d: the kid must match %s", n, kidPattern)
	case keyErr != nil:
		bad("SILO_JWT_VERIFY_KEYS", "entry %d (kid %q): the secret %v", n, kid, keyErr)
	case err != nil:
		bad("SILO_JWT_VERIFY_KEYS", "entry %d (kid %q): %q is not an RFC 3339 time such as 2026-11-01T00:00:00Z", n, kid, m[3])
	case c.VerifyKeys[kid] != nil:
		bad("SILO_JWT_VERIFY_KEYS", "entry %d: kid %q is used twice", n, kid)
	default:
		c.VerifyKeys[kid] = key
		c.RetiredKeys[kid] = at
		if c.AccessTokenTTL > 0 && time.Since(at) > c.AccessTokenTTL+time.Minute {
			c.Warnings = append(c.Warnings, fmt.Sprintf("SILO_JWT_VERIFY_KEYS: key %q retired at %s; every token it signed has expired, so it can be removed", kid, at.UTC().Format(time.RFC3339)))
		}
	}
}

// DeriveKeyID names a key by a short hash of it, so that rotating the secret
// without choosing a kid still gives the new key a new id.
func DeriveKeyID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return "k" + hex.EncodeToString(sum[:6])
}

// The secret rule, one for every secret Silo is given (SILO_JWT_SECRET, the
// secrets of SILO_JWT_VERIFY_KEYS, SILO_MASTER_KEY): the secret is random
// bytes written in standard base64 with its = padding (RFC 4648 section 4,
// the alphabet with + and /; line breaks are ignored), as
// `openssl rand -base64 32` prints them, and the key is the decoded bytes:
// the HS256 (HMAC-SHA256) key, at least MinJWTKeyBytes long, and the
// AES-256-GCM master key, exactly MasterKeyBytes long. docs/SECURITY.md
// says how an external verifier derives the same HMAC key.
const (
	MinJWTKeyBytes = 32
	MasterKeyBytes = 32
)

// secretEncoding is the rule's base64: standard alphabet, padded, and
// strict (no stray bits in the last character), so a key has one spelling.
var secretEncoding = base64.StdEncoding.Strict()

// decodeSecret decodes a secret written as the rule says. Its error never
// quotes the secret.
func decodeSecret(s string) ([]byte, error) {
	b, err := secretEncoding.DecodeString(s)
	if err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if _, err := enc.Strict().DecodeString(s); err == nil {
			return nil, errors.New("must be standard base64 with its = padding, as openssl rand -base64 32 prints it; " +
				"this one is URL-safe base64 or lacks its padding: write the same bytes with + for -, / for _, " +
				"and = at the end until its length is a multiple of 4")
		}
	}
	return nil, errors.New("must be random bytes written in standard base64 (openssl rand -base64 32)")
}

// DecodeJWTKey decodes SILO_JWT_SECRET (or a secret of
// SILO_JWT_VERIFY_KEYS) into the HMAC key.
func DecodeJWTKey(s string) ([]byte, error) {
	// Releases before this rule signed with the secret's text itself.
	const before = "; earlier releases took the secret's text as the key: to keep a key written otherwise " +
		"(and the tokens it signed), give its text in base64 instead (printf %s \"$OLD_SECRET\" | base64 | tr -d '\\n')"
	key, err := decodeSecret(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%v%s", err, before)
	case len(key) < MinJWTKeyBytes:
		return nil, fmt.Errorf("decodes to %d bytes; it must hold at least %d random bytes (openssl rand -base64 32)%s",
			len(key), MinJWTKeyBytes, before)
	}
	return key, nil
}

// DecodeMasterKey decodes SILO_MASTER_KEY into the AES-256 key.
func DecodeMasterKey(s string) ([]byte, error) {
	const fromHex = "; earlier releases also read 64 hex digits: write the same key in base64 with " +
		"printf %s \"$SILO_MASTER_KEY\" | xxd -r -p | base64 (the key stays the same, so what it sealed still opens)"
	key, err := decodeSecret(s)
	hexKey := len(s) == 2*MasterKeyBytes && isHex(s)
	switch {
	case err != nil && hexKey:
		return nil, fmt.Errorf("%v%s", err, fromHex)
	case err != nil:
		return nil, err
	case len(key) != MasterKeyBytes && hexKey:
		return nil, fmt.Errorf("decodes to %d bytes, not %d%s", len(key), MasterKeyBytes, fromHex)
	case len(key) != MasterKeyBytes:
		return nil, fmt.Errorf("decodes to %d bytes; it must be exactly %d random bytes (openssl rand -base64 32)", len(key), MasterKeyBytes)
	}
	return key, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// ParseDSN parses a go-sql-driver DSN and applies the connection settings
// Silo relies on: UTC times parsed into time.Time, client-side parameter
// interpolation (one round trip per query) and bounded timeouts.
func ParseDSN(dsn string) (*mysql.Config, error) {
	if dsn == "" {
		return nil, errors.New("is empty")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The driver's message may echo the DSN, password included.
		return nil, errors.New("is not a valid DSN of the form user:password@tcp(host:port)/database")
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// Look for options only in the query part: the password may contain anything.
	query := ""
	if i := strings.LastIndex(dsn, "?"); i >= 0 && i > strings.LastIndex(dsn, "/") {
		query = dsn[i+1:]
	}
	values, _ := url.ParseQuery(query)
	_, setCharset := values["charset"]
	_, setCollation := values["collation"]
	// Client-side interpolation is only safe for charsets whose escaping the
	// driver knows; keep it for utf8mb4, Silo's charset.
	utf8mb4 := (!setCharset || values.Get("charset") == "utf8mb4") &&
		(!setCollation || strings.HasPrefix(values.Get("collation"), "utf8mb4_"))
	if utf8mb4 && !values.Has("interpolateParams") {
		cfg.InterpolateParams = true
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["time_zone"]; !ok {
		cfg.Params["time_zone"] = "'+00:00'"
	}
	if !setCharset && !setCollation {
		cfg.Collation = "utf8mb4_unicode_ci"
	}
	return cfg, nil
}

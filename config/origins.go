package config

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ParseOrigin checks a browser origin (scheme://host[:port], as a browser
// sends it in the Origin header) and returns it in the form browsers send
// (scheme and host in lower case, no default port) with its host name.
// The scheme is http or https; the host a domain name in ASCII (punycode)
// or an IP address; nothing follows the host and port, not even a "/".
// "null", wildcards, user names and passwords are refused.
func ParseOrigin(s string) (origin, host string, err error) {
	if s == "" || s == "null" || strings.Contains(s, "*") {
		return "", "", errors.New("must be an exact origin such as https://app.example.com (no wildcard, not null)")
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", "", errors.New("must be scheme://host[:port], such as https://app.example.com")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", "", errors.New("the scheme must be http or https")
	case u.User != nil:
		return "", "", errors.New("must not hold a user name or password")
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", "", errors.New("must be scheme://host[:port] with nothing after it: no path (not even a trailing /), query or fragment")
	}
	host = strings.ToLower(u.Hostname())
	ip := net.ParseIP(host)
	if ip == nil && (len(host) > 253 || !domainPattern.MatchString(host)) {
		return "", "", errors.New("the host must be a domain name in ASCII (punycode) or an IP address")
	}
	hostPort := host
	if ip != nil && ip.To4() == nil {
		hostPort = "[" + host + "]"
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", "", errors.New("has a colon but no port")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", "", errors.New("the port must be 1-65535")
		}
		if !(scheme == "https" && n == 443) && !(scheme == "http" && n == 80) {
			hostPort += ":" + strconv.Itoa(n)
		}
	}
	return scheme + "://" + hostPort, host, nil
}

// corsOrigins parses SILO_CORS_ORIGINS, a comma-separated list of origins,
// into their browser form, without repeats.
func corsOrigins(v string, bad func(string, string, ...any)) []string {
	var out []string
	seen := map[string]bool{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		origin, _, err := ParseOrigin(item)
		if err != nil {
			bad("SILO_CORS_ORIGINS", "%q %v", item, err)
			continue
		}
		if !seen[origin] {
			seen[origin] = true
			out = append(out, origin)
		}
	}
	return out
}

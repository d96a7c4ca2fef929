// Package endpoint checks the vendor base URLs a deployment is configured with: the
// vendors' API credentials travel in their requests, so they must never go in clear text.
package endpoint

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckHTTPS returns nil when raw is an https URL with a host, or an http URL to the
// loopback interface (127.0.0.0/8, ::1, localhost: the local stack's simulators), and an
// error naming name (the setting, e.g. IDWISE_API_BASE_URL) otherwise. host.docker.internal
// (the Docker host, what `sam local invoke` containers reach the simulators by) counts as
// loopback: it names this machine, and nothing outside Docker resolves it. It never echoes
// userinfo, which could be a credential.
func CheckHTTPS(name, raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s must be an absolute https:// URL", name)
	}
	if u.User != nil {
		return fmt.Errorf("%s must not carry credentials in the URL", name)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if Loopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s must be https:// (http is accepted for loopback only, got host %s)", name, u.Hostname())
	default:
		return fmt.Errorf("%s must be https://, got scheme %q", name, u.Scheme)
	}
}

// Loopback reports whether host names the loopback interface.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.EqualFold(host, "host.docker.internal") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

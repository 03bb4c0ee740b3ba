// Package urlcheck says which URLs may receive a client secret or a
// bearer token: an http(s) URL, and https unless its host is loopback or
// the provider allows plain http. The configuration language refuses such
// a URL when it is written, and the checker again before it sends
// anything. It imports nothing of credkeeper's and no HTTP package.
package urlcheck

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// EndpointProblem says why credentials must not be sent to raw (what names
// it: "token_url", "probe url"), or "" when they may: it must be an http(s)
// URL, and https unless its host is loopback or insecure is set.
func EndpointProblem(raw, what string, insecure bool) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Sprintf("%s %q is not an http(s) URL", what, raw)
	}
	if u.Scheme == "http" && !insecure && !IsLoopback(u.Hostname()) {
		return fmt.Sprintf("%s %q is plain http to %s: the client secret or token would cross the network unencrypted; use https, or set insecure_http = true in the provider if you really mean it", what, raw, u.Hostname())
	}
	return ""
}

// IsLoopback reports whether host (a name or an address) is this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Package server is the daemon's HTTP face: /healthz (the process is
// alive), /readyz (configuration loaded, Vault reachable and authenticated,
// this replica's role), /metrics (Prometheus), and everything else from
// the status page's handler (package web) when there is one.
//
// It lives under internal/app with the rest of what people see, and
// imports nothing of the project: the composition root gives it the
// handlers and the readiness check. It decides nothing about credentials,
// and only cmd/ and internal/app/... import it.
package server

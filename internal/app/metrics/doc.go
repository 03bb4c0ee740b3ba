// Package metrics exposes what the daemon does as Prometheus metrics, on a
// registry of its own. Timestamps are absolute (seconds since the epoch),
// as Prometheus conventions ask, so that alert rules compute days left.
//
// It lives under internal/app with the rest of what people see: it reads
// check results (oauthcheck) and deliveries (notify), and the composition
// root hands its recorders to the daemon as functions and serves its
// registry on /metrics. The engine never imports it, and it must never
// label a series with a secret: labels are names, classes, channels,
// kinds and reasons.
package metrics

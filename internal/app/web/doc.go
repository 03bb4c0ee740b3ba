// Package web is the daemon's status page: an HTML table of every
// credential sorted by urgency (/, filtered and searched by query
// parameters, counted, PageSize rows a page, the most urgent first), a
// page per credential (/credentials/NAME), and the same data as JSON
// (/api/v1/credentials, /api/v1/credentials/NAME, with status --json's
// fields); above the index's table the deadline timeline, and at /report
// the audit report, both drawn by package report (the report's HTML under
// a policy that lets in its inline style, never a script). The index
// answers from the leading replica's records (check.Cache) and reads Vault
// through vaultstore for what they lack (all of it on a standby), a
// published token's expiry only for the rows it shows; it words its advice
// with notify's, so the page says what the notices say.
//
// It renders with html/template from embedded files: no CDN, no
// JavaScript needed. It must never show a secret, a token, a webhook URL
// or a routing key: it reads metadata, state, ledgers and token expiry
// only, and every string it shows is escaped, since an owner or a
// provider's error description is untrusted text. Every answer, an
// error's too, carries the security headers; the API answers errors as
// JSON {"error": …}, and a name no credential has is 404.
//
// It lives under internal/app with the rest of what people see: it reads
// the engine (config, vaultstore, check, policies, notify, oauthcheck)
// and builds on view, metrics and server; only cmd/ and internal/app/...
// import it.
package web

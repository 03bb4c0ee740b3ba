// Package report is the audit report: for a period, every credential's
// rotation deadlines and whether each was met (the date its new version
// was promoted, or how many days late), the rotation's steps with who
// and when, incidents with their time to resolve, the notices sent and
// failed per channel, and the silences with their reasons; a summary on
// top. It also draws the deadline timeline (an inline SVG of the next
// twelve months) that the status page and the HTML report both show.
//
// It owns three stages: Gather reads Vault through vaultstore alone, and
// only what the auditor policy may read (metadata, rotations, ledgers,
// silences, staged pairs' metadata); Build is a pure function of those
// records, the period and now; the renderers (table, JSON, CSV, one
// self-contained HTML file) only format what Build decided.
//
// It must never read or show a secret or a token: it reads no
// credentials/NAME data, pending/NAME data or tokens/NAME, and every
// string it shows is escaped (HTML) or neutralised (CSV), since notes,
// tickets and owners are untrusted text. It reads no clock and sends
// nothing; the HTML it writes carries no script.
package report

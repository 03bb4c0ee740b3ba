// Package notify owns the channels that carry credkeeper's notices to
// people: email, Slack, PagerDuty Events v2 and signed webhooks, each a
// small package of its own behind the one Notifier interface, and the one
// retry loop that all of them share; and a notice's wording, all in one
// place: its subject, its text, and what it tells people to do (Compose,
// Subject, Text, ProviderHint).
//
// notify decides how to deliver a notice, never whether one is due: that
// decision is policies'. Wiring the channels from the configuration
// happens outside this package.
package notify

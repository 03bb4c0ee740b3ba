// Package notify owns the channels that carry credkeeper's notices to
// people: email, Slack, PagerDuty Events v2 and signed webhooks, behind one
// Notifier interface, with one retry loop and deduplication keys.
//
// notify decides how to deliver a notice, never whether one is due: that
// decision is policies'.
package notify

package config

import (
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// DefaultRotationPolicy is the built-in policy every credential follows
// unless it names another.
const DefaultRotationPolicy = "yearly"

// RotationPolicy says how long a pair lives and when to remind people
// before its deadline.
type RotationPolicy struct {
	Name   string
	Period time.Duration
	// Remind lists how long before the deadline each reminder goes out,
	// longest first.
	Remind []time.Duration
	// Escalate adds channels to the reminders from a tier on.
	Escalate []Escalation
}

// Escalation is an escalate block: from this lead time on (and once
// overdue), reminders also go to Notify.
type Escalation struct {
	From   time.Duration
	Notify []string
}

// Yearly is the built-in policy: 365 days, reminders 60, 30, 14, 7, 3 and
// 1 days before the deadline. CTRP hands out the new pair two weeks before
// the yearly change, so the early reminders leave time to ask for it.
func Yearly() *RotationPolicy {
	day := 24 * time.Hour
	return &RotationPolicy{Name: DefaultRotationPolicy, Period: 365 * day,
		Remind: []time.Duration{60 * day, 30 * day, 14 * day, 7 * day, 3 * day, day}}
}

// FirstReminder is the longest lead time, or zero when there is none.
func (p *RotationPolicy) FirstReminder() time.Duration {
	if len(p.Remind) == 0 {
		return 0
	}
	return p.Remind[0]
}

var rotationPolicySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "period"}, {Name: "remind"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "escalate", LabelNames: []string{"from"}}},
}

var escalateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "notify", Required: true}},
}

func decodeRotationPolicy(b *hcl.Block, cfg *Config) hcl.Diagnostics {
	name := b.Labels[0]
	content, diags := b.Body.Content(rotationPolicySchema)
	if cfg.declaredRotation[name] {
		return append(diags, errAt(b.LabelRanges[0], "Duplicate rotation_policy", "A rotation_policy named %q is declared twice.", name))
	}
	if cfg.declaredRotation == nil {
		cfg.declaredRotation = map[string]bool{}
	}
	cfg.declaredRotation[name] = true
	p := Yearly() // a block named "yearly" overrides only what it sets
	if name != DefaultRotationPolicy {
		p = &RotationPolicy{Name: name, Period: DefaultRotationPeriod}
	}
	diags = append(diags, optDuration(content.Attributes["period"], &p.Period)...)
	if a := content.Attributes["period"]; a != nil && p.Period <= 0 {
		diags = append(diags, errAt(a.Expr.Range(), "Invalid period", "The period must be more than zero."))
	}
	var remind []string
	diags = append(diags, optStringList(content.Attributes["remind"], &remind)...)
	if a := content.Attributes["remind"]; a != nil && remind != nil {
		p.Remind = nil
		for _, r := range remind {
			d, err := ParseDuration(r)
			if err != nil || d <= 0 {
				diags = append(diags, errAt(a.Expr.Range(), "Invalid reminder", "%q is not a lead time: use durations such as \"30d\" or \"12h\".", r))
				continue
			}
			p.Remind = append(p.Remind, d)
		}
		sort.Slice(p.Remind, func(i, j int) bool { return p.Remind[i] > p.Remind[j] })
	}
	for _, eb := range content.Blocks {
		from, err := ParseDuration(eb.Labels[0])
		if err != nil {
			diags = append(diags, errAt(eb.LabelRanges[0], "Invalid escalation", "%s.", capitalize(err.Error())))
			continue
		}
		ec, d := eb.Body.Content(escalateSchema)
		diags = append(diags, d...)
		e := Escalation{From: from}
		diags = append(diags, optStringList(ec.Attributes["notify"], &e.Notify)...)
		p.Escalate = append(p.Escalate, e)
	}
	cfg.RotationPolicies[name] = p
	return diags
}

// RotationPolicyFor is the rotation policy credential name follows: its
// credential block's, else the one recorded in its metadata in Vault
// (recorded), else the built-in yearly. Reminders, plans and promote all
// ask this one rule.
func (c *Config) RotationPolicyFor(name, recorded string) *RotationPolicy {
	policyName := recorded
	if decl, ok := c.Credential(name); ok {
		policyName = decl.Rotation
	}
	if p, ok := c.RotationPolicies[policyName]; ok {
		return p
	}
	return Yearly()
}

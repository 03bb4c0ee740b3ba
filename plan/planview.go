package plan

import (
	"fmt"
	"io"
	"strings"
)

// RenderPlan writes the plan as Terraform users know it: a legend for the
// actions present, one block per change, the notices, and a closing line.
func RenderPlan(w io.Writer, p *Plan) error {
	b := &strings.Builder{}
	if !p.HasChanges() {
		b.WriteString("No changes. Vault matches the configuration.\n")
		writeNotes(b, p.Notes)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(b, "credkeeper compared the configuration with %s/%s/ in Vault. Actions are shown with these symbols:\n", p.Mount, p.Prefix)
	present := map[Action]bool{}
	for _, c := range p.Changes {
		present[c.Action] = true
	}
	for _, a := range []struct {
		action Action
		label  string
	}{{ActionCreate, "create"}, {ActionUpdate, "update in place"}, {ActionDelete, "destroy (only with apply --prune)"}} {
		if present[a.action] {
			fmt.Fprintf(b, "  %s %s\n", a.action.Symbol(), a.label)
		}
	}
	b.WriteString("\ncredkeeper will perform the following actions:\n")
	for _, c := range p.Changes {
		b.WriteString("\n")
		writeChange(b, c)
	}
	writeNotes(b, p.Notes)
	add, change, destroy := p.Counts()
	fmt.Fprintf(b, "\nPlan: %d to add, %d to change, %d to destroy.\n", add, change, destroy)
	_, err := io.WriteString(w, b.String())
	return err
}

var verbs = map[Action]string{ActionCreate: "created", ActionUpdate: "updated in place", ActionDelete: "destroyed"}

func writeChange(b *strings.Builder, c Change) {
	note := ""
	if c.Note != "" {
		note = " (" + c.Note + ")"
	}
	fmt.Fprintf(b, "  # %s will be %s%s\n", c.Path(), verbs[c.Action], note)
	sym := c.Action.Symbol()
	fmt.Fprintf(b, "  %s %s %q {\n", sym, c.Type, c.Name)
	switch {
	case c.Type == TypePolicy && c.Action == ActionUpdate:
		for _, line := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
			fmt.Fprintf(b, "%s\n", strings.TrimRight("      "+line, " "))
		}
	case c.Type == TypePolicy:
		for _, line := range strings.Split(strings.TrimRight(c.Policy, "\n"), "\n") {
			fmt.Fprintf(b, "%s\n", strings.TrimRight("      "+sym+" "+line, " "))
		}
	case c.Type == TypeCIRole:
		writeRoleFields(b, c)
	case c.Action == ActionDelete:
		if c.Metadata != nil {
			for _, f := range fieldChanges(PlannedMetadata{}, *c.Metadata) {
				fmt.Fprintf(b, "      - %-12s = %s\n", f.Field, value(f.Field, f.New))
			}
		}
		if len(c.Records) > 0 {
			fmt.Fprintf(b, "      - %-12s = [%s]\n", "records", quoteAll(c.Records))
		}
	default:
		for _, f := range c.Fields {
			switch {
			case c.Action == ActionCreate || f.Old == "":
				fmt.Fprintf(b, "      + %-12s = %s\n", f.Field, value(f.Field, f.New))
			case f.New == "":
				fmt.Fprintf(b, "      - %-12s = %s\n", f.Field, value(f.Field, f.Old))
			default:
				fmt.Fprintf(b, "      ~ %-12s = %s -> %s\n", f.Field, value(f.Field, f.Old), value(f.Field, f.New))
			}
		}
	}
	b.WriteString("    }\n")
}

// writeRoleFields shows a CI role's fields, their values as Vault takes
// them (JSON).
func writeRoleFields(b *strings.Builder, c Change) {
	width := 0
	for _, f := range c.Fields {
		width = max(width, len(f.Field))
	}
	for _, f := range c.Fields {
		switch {
		case c.Action == ActionDelete:
			fmt.Fprintf(b, "      - %-*s = %s\n", width, f.Field, f.New)
		case c.Action == ActionCreate || f.Old == "":
			fmt.Fprintf(b, "      + %-*s = %s\n", width, f.Field, f.New)
		default:
			fmt.Fprintf(b, "      ~ %-*s = %s -> %s\n", width, f.Field, f.Old, f.New)
		}
	}
}

func quoteAll(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = fmt.Sprintf("%q", it)
	}
	return strings.Join(q, ", ")
}

// value shows a field's value as HCL would: numbers bare, strings quoted.
func value(field, v string) string {
	if field == "max_versions" {
		return v
	}
	return fmt.Sprintf("%q", v)
}

func writeNotes(b *strings.Builder, notices []Note) {
	if len(notices) == 0 {
		return
	}
	b.WriteString("\nNotes (these change nothing):\n")
	for _, n := range notices {
		fmt.Fprintf(b, "  ! %s %s\n", n.Name, n.Message)
	}
}

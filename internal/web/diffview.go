package web

import (
	"slices"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The broker's diff of a pending proposal, as the pages show it.

// warnView is one warning of the diff.
type warnView struct {
	Code, Message string
}

// fieldView is one field of a service before and after approval.
type fieldView struct {
	Name          string
	Before, After []itemView
	Changed       bool
}

// itemView is one line of a field; Diff marks a line the other side lacks.
type itemView struct {
	Text string
	Diff bool
}

// items marks the lines of ls that other lacks.
func items(ls, other []string) []itemView {
	out := make([]itemView, len(ls))
	for i, l := range ls {
		out[i] = itemView{Text: l, Diff: !slices.Contains(other, l)}
	}
	return out
}

// addDiff puts the broker's diff into the view: each change's fields and
// warnings on its card, every warning at the top, conflicts apart.
func addDiff(v *proposalView, d *apitype.ProposalDiff) {
	v.HasDiff = true
	v.Fingerprint = d.Fingerprint
	for _, w := range d.Warnings {
		if w.Code == apitype.WarnConflict {
			v.Conflicts = append(v.Conflicts, w.Message)
			continue
		}
		v.Warnings = append(v.Warnings, warnView{Code: w.Code, Message: w.Message})
		for i := range v.Services {
			if w.Service != "" && v.Services[i].Name == w.Service {
				v.Services[i].Warnings = append(v.Services[i].Warnings, w.Message)
			}
		}
		for i := range v.Credentials {
			if w.Service == "" && w.Key != "" && v.Credentials[i].Key == w.Key {
				v.Credentials[i].Warnings = append(v.Credentials[i].Warnings, w.Message)
			}
		}
	}
	for i, sc := range d.Services {
		if i >= len(v.Services) {
			break
		}
		v.Services[i].Change = sc.Change
		for _, f := range sc.Fields {
			v.Services[i].Fields = append(v.Services[i].Fields, fieldView{Name: f.Field, Before: items(f.Before, f.After), After: items(f.After, f.Before), Changed: f.Changed})
		}
	}
	for i, cc := range d.Credentials {
		if i < len(v.Credentials) {
			v.Credentials[i].Change = cc.Change
		}
	}
}

// diffLines is a diff in one line per change: what changes, before → after.
func diffLines(d *apitype.ProposalDiff, svcs []apitype.ProposalService) []string {
	var out []string
	for i, sc := range d.Services {
		host := ""
		if i < len(svcs) {
			host = svcs[i].Host
		}
		switch sc.Change {
		case apitype.ChangeAdd:
			out = append(out, "add service "+sc.Name+" ("+host+")")
		case apitype.ChangeRemove:
			out = append(out, "remove service "+sc.Name)
		case apitype.ChangeUnchanged:
			out = append(out, "service "+sc.Name+": no change")
		default:
			var fs []string
			for _, f := range sc.Fields {
				if f.Changed {
					fs = append(fs, f.Field+" "+orNone(f.Before)+" → "+orNone(f.After))
				}
			}
			out = append(out, "update service "+sc.Name+": "+strings.Join(fs, "; "))
		}
	}
	for _, cc := range d.Credentials {
		switch cc.Change {
		case apitype.ChangeReplace:
			out = append(out, "replace the value of "+cc.Key)
		case apitype.ChangeDelete:
			out = append(out, "delete credential "+cc.Key)
		default:
			out = append(out, "add credential "+cc.Key)
		}
	}
	return out
}

// orNone joins a field's lines, or says it is empty.
func orNone(ls []string) string {
	if len(ls) == 0 {
		return "none"
	}
	return strings.Join(ls, ", ")
}

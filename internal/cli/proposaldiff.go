package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// How the proposal commands print the broker's diff of a pending proposal.

// writeProposalWarnings prints what a reviewer must not miss, from the
// broker's diff: conflicts (approving now would fail), then the warnings.
func writeProposalWarnings(w io.Writer, d *apitype.ProposalDiff) {
	if d == nil {
		return
	}
	var conflicts, warns []string
	for _, x := range d.Warnings {
		if x.Code == apitype.WarnConflict {
			conflicts = append(conflicts, x.Message)
		} else {
			warns = append(warns, x.Message)
		}
	}
	if len(conflicts) > 0 {
		fmt.Fprintln(w, "  CONFLICT — approving now would fail (nothing would change):")
		for _, m := range conflicts {
			fmt.Fprintf(w, "    !! %s\n", propClean(propOneLine(m)))
		}
	}
	if len(warns) > 0 {
		fmt.Fprintln(w, "  WARNING — check before approving:")
		for _, m := range warns {
			fmt.Fprintf(w, "    !! %s\n", propClean(propOneLine(m)))
		}
	}
}

// writeKeyWarnings prints the warnings about credential key itself under
// its slot.
func writeKeyWarnings(w io.Writer, d *apitype.ProposalDiff, key string) {
	if d == nil {
		return
	}
	for _, x := range d.Warnings {
		if x.Key == key && x.Service == "" && x.Code != apitype.WarnConflict {
			fmt.Fprintf(w, "           !! %s\n", propClean(propOneLine(x.Message)))
		}
	}
}

// writeServiceChange prints one service of a proposal as the broker
// compared it with the vault: each field now → after approval.
func writeServiceChange(w io.Writer, s apitype.ProposalService, sc apitype.ServiceChange) {
	verb := map[string]string{"add": "add", "update": "update", "remove": "remove", "unchanged": "keep"}[sc.Change]
	if verb == "" {
		verb = propClean(sc.Change)
	}
	head := fmt.Sprintf("    %-6s %s", verb, propServiceRef(s))
	if s.Action == apitype.ProposalSet {
		head += ", auth " + propAuthDesc(s.Auth)
	}
	if sc.Change == apitype.ChangeUnchanged {
		if s.Action == apitype.ProposalDelete {
			head += " (already gone: nothing to remove)"
		} else {
			head += " (no change)"
		}
	}
	fmt.Fprintln(w, head)
	for _, f := range sc.Fields {
		var val string
		switch {
		case sc.Change == apitype.ChangeAdd:
			val = propList(f.After)
		case sc.Change == apitype.ChangeRemove:
			val = propList(f.Before)
		case f.Changed:
			val = propList(f.Before) + " → " + propList(f.After)
		default:
			val = propList(f.After) + " (unchanged)"
		}
		mark := " "
		if f.Changed && sc.Change == apitype.ChangeUpdate {
			mark = "*"
		}
		fmt.Fprintf(w, "         %s %-17s %s\n", mark, propClean(f.Field)+":", val)
	}
}

// propList joins a field's lines for one terminal line.
func propList(ls []string) string {
	if len(ls) == 0 {
		return "none"
	}
	return propClean(propOneLine(strings.Join(ls, ", ")))
}

// propFingerprint is the fingerprint of the diff shown for p, sent with the
// approval so that it applies only what was shown.
func propFingerprint(p apitype.Proposal) string {
	if p.Diff == nil {
		return ""
	}
	return p.Diff.Fingerprint
}

package web

import (
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The service form's rules: the methods a service serves, its path allow
// and deny globs, whether it may send its credential over plain http://,
// and whether credential values echoed in responses are redacted. The
// broker validates them (internal/service/rules.go); the form only carries
// them.

// rulesOffered is whether the form shows the rules section.
const rulesOffered = true

// fillRules puts a service's rules into the form.
func fillRules(f *serviceForm, sv apitype.Service) {
	f.Methods = strings.Join(sv.Methods, ", ")
	if sv.Paths != nil {
		f.PathsAllow = strings.Join(sv.Paths.Allow, "\n")
		f.PathsDeny = strings.Join(sv.Paths.Deny, "\n")
	}
	f.AllowPlaintext = sv.AllowPlaintext
	f.RedactOff = sv.RedactResponses != nil && !*sv.RedactResponses
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readRules reads the posted rules into the form and the service.
func readRules(r *http.Request, f *serviceForm, sv *apitype.Service) {
	f.Methods = r.PostFormValue("methods")
	f.PathsAllow, f.PathsDeny = r.PostFormValue("paths_allow"), r.PostFormValue("paths_deny")
	f.AllowPlaintext = r.PostFormValue("allow_plaintext") == "on"
	f.RedactOff = r.PostFormValue("redact_off") == "on"
	for _, m := range strings.FieldsFunc(f.Methods, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' }) {
		sv.Methods = append(sv.Methods, strings.ToUpper(m))
	}
	allow, deny := lines(f.PathsAllow), lines(f.PathsDeny)
	if len(allow) > 0 || len(deny) > 0 {
		sv.Paths = &apitype.PathRules{Allow: allow, Deny: deny}
	}
	sv.AllowPlaintext = f.AllowPlaintext
	if f.RedactOff {
		sv.RedactResponses = new(bool)
	}
}

// rulesSummary is a service's rules, one line each, for the list.
func rulesSummary(sv apitype.Service) []string {
	var out []string
	if len(sv.Methods) > 0 {
		out = append(out, "methods: "+strings.Join(sv.Methods, ", "))
	}
	if sv.Paths != nil && len(sv.Paths.Allow) > 0 {
		out = append(out, "paths allowed: "+strings.Join(sv.Paths.Allow, ", "))
	}
	if sv.Paths != nil && len(sv.Paths.Deny) > 0 {
		out = append(out, "paths denied: "+strings.Join(sv.Paths.Deny, ", "))
	}
	if sv.AllowPlaintext {
		out = append(out, "plain http:// allowed")
	}
	if sv.RedactResponses != nil && !*sv.RedactResponses {
		out = append(out, "responses not redacted")
	}
	return out
}

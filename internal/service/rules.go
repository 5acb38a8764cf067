package service

import (
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
)

// Limits on a service's rules.
const (
	MaxMethods   = 16
	MaxPathRules = 32 // per list
)

// Rules are a service's optional request rules: the methods and paths it
// serves, and whether its credential may travel over plain http://. The
// zero Rules allow every method and path and refuse plaintext.
type Rules struct {
	// AllowPlaintext lets the credential go into an http:// request; the
	// proxy still refuses port 443, and the validator refuses it on a
	// pattern whose port is 443.
	AllowPlaintext bool
	// Methods are the only methods served (uppercase, as written); nil
	// serves every method.
	Methods []string
	// Allow and Deny are path globs in the host pattern's path grammar. A
	// path must match one Allow glob (when there are any) and no Deny glob.
	Allow, Deny []string
}

// RulesFromAPI validates the rule fields of a wire service whose pattern
// is p. prefix is the service's JSON path; errors name the field at fault
// ("services[1].methods[0]", "paths.deny[2]", "allow_plaintext").
func RulesFromAPI(a apitype.Service, p Pattern, prefix string) (Rules, error) {
	r := Rules{AllowPlaintext: a.AllowPlaintext}
	if a.AllowPlaintext && p.Port == 443 {
		return Rules{}, invalid(field(prefix, "allow_plaintext"), "port 443 is the https port; a credential is never sent over plain http:// to it (remove allow_plaintext, or the port if the service is plaintext on another one)")
	}
	mPath := field(prefix, "methods")
	if len(a.Methods) > MaxMethods {
		return Rules{}, invalid(mPath, "at most %d methods may be listed (got %d)", MaxMethods, len(a.Methods))
	}
	for i, m := range a.Methods {
		if reason := checkMethod(m); reason != "" {
			return Rules{}, invalid(index(mPath, i), "%s", reason)
		}
		for j := range i {
			if a.Methods[j] == m {
				return Rules{}, invalid(index(mPath, i), "method %s is already listed at %s", m, index(mPath, j))
			}
		}
		r.Methods = append(r.Methods, m)
	}
	if a.Paths != nil {
		pPath := field(prefix, "paths")
		var err error
		if r.Allow, err = pathGlobs(a.Paths.Allow, field(pPath, "allow")); err != nil {
			return Rules{}, err
		}
		if r.Deny, err = pathGlobs(a.Paths.Deny, field(pPath, "deny")); err != nil {
			return Rules{}, err
		}
	}
	return r, nil
}

// checkMethod accepts an uppercase method token such as GET or PROPFIND.
func checkMethod(m string) string {
	if m == "" {
		return "a method is empty; write one such as GET or POST"
	}
	if up := strings.ToUpper(m); up != m && isMethodToken(up) {
		return "methods are written in uppercase (write " + strconv.Quote(up) + ")"
	}
	if len(m) > 32 || !isMethodToken(m) {
		return quoteInput(m) + " is not an HTTP method; write one such as GET, POST, PUT, PATCH or DELETE"
	}
	return ""
}

func isMethodToken(m string) bool {
	for i := 0; i < len(m); i++ {
		if c := m[i]; !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return m != ""
}

// pathGlobs validates one list of path globs.
func pathGlobs(globs []string, at string) ([]string, error) {
	if len(globs) > MaxPathRules {
		return nil, invalid(at, "at most %d path globs may be listed (got %d)", MaxPathRules, len(globs))
	}
	var out []string
	for i, g := range globs {
		gi := index(at, i)
		if !strings.HasPrefix(g, "/") {
			return nil, invalid(gi, "path glob %s must start with /, as in /v1/* (the path part of a host pattern)", quoteInput(g))
		}
		if reason := checkPath(g); reason != "" {
			return nil, invalid(gi, "%s is not a valid path glob: %s", quoteInput(g), reason)
		}
		if strings.Contains(strings.ToLower(g), "%2a") {
			return nil, invalid(gi, "path glob %s encodes * (%%2A); write * for the wildcard (a literal * cannot be matched)", quoteInput(g))
		}
		for j, prev := range out {
			if prev == g {
				return nil, invalid(gi, "path glob %s is already listed at %s", quoteInput(g), index(at, j))
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// toAPI writes the rules into a wire service.
func (r Rules) toAPI(out *apitype.Service) {
	out.AllowPlaintext = r.AllowPlaintext
	out.Methods = append([]string(nil), r.Methods...)
	if len(r.Allow) > 0 || len(r.Deny) > 0 {
		out.Paths = &apitype.PathRules{Allow: append([]string(nil), r.Allow...), Deny: append([]string(nil), r.Deny...)}
	}
}

// HasPathRules reports whether the rules limit paths.
func (r Rules) HasPathRules() bool { return len(r.Allow) > 0 || len(r.Deny) > 0 }

// RuleDecision is the outcome of Rules.Check. The zero value allows.
type RuleDecision struct {
	Refused bool
	// Rule names the field that refused: "methods", "paths.allow" or
	// "paths.deny[i]".
	Rule string
	// Reason says why, in words an agent can act on.
	Reason string
}

// Check decides whether a request with method and path passes the rules.
// path is the canonical request path the service was matched on. Deny
// globs match ignoring ASCII case (an upstream that folds case must not
// reach a denied path through /ADMIN); allow globs match case-sensitively,
// like the host pattern's path.
func (r Rules) Check(method, path string) RuleDecision {
	if path == "" {
		path = "/"
	}
	if len(r.Methods) > 0 {
		ok := false
		for _, m := range r.Methods {
			if m == method {
				ok = true
				break
			}
		}
		if !ok {
			return RuleDecision{Refused: true, Rule: "methods", Reason: "method " + method + " is not among the service's methods (" + strings.Join(r.Methods, ", ") + ")"}
		}
	}
	folded := model.LowerASCII(path)
	lenient := lenientReading(folded)
	for i, g := range r.Deny {
		d, _ := pathGlob(g)
		d = model.LowerASCII(d)
		if globMatch(d, folded) || (lenient != folded && globMatch(d, lenient)) {
			return RuleDecision{Refused: true, Rule: "paths.deny[" + strconv.Itoa(i) + "]", Reason: "path " + path + " matches the service's deny glob " + g}
		}
	}
	if len(r.Allow) == 0 {
		return RuleDecision{}
	}
	for _, g := range r.Allow {
		if d, ok := pathGlob(g); ok && globMatch(d, path) {
			return RuleDecision{}
		}
	}
	return RuleDecision{Refused: true, Rule: "paths.allow", Reason: "path " + path + " matches none of the service's allow globs (" + strings.Join(r.Allow, ", ") + ")"}
}

// lenientReading is path as servers that read paths leniently see it:
// each segment without its ";" parameters (Tomcat, Jetty, Spring) and
// without trailing dots and spaces (IIS), and no trailing slash (Express
// and older Spring serve /admin/ as /admin). Deny globs are checked
// against it too, so that /admin;x, /admin. or /admin/ cannot reach what
// /admin denies.
func lenientReading(path string) string {
	if strings.ContainsAny(path, "; .") {
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			seg, _, _ = strings.Cut(seg, ";")
			segs[i] = strings.TrimRight(seg, ". ")
		}
		path = strings.Join(segs, "/")
	}
	if len(path) > 1 {
		path = strings.TrimRight(path, "/")
		if path == "" {
			path = "/"
		}
	}
	return path
}

// PathScoped reports whether the service's credential is bound to some
// paths only (a path in its host pattern, or path rules): the proxy then
// forwards exactly the canonical path it matched and refuses ambiguous
// ones.
func (s Service) PathScoped() bool { return s.Pattern.Path != "" || s.Rules.HasPathRules() }

// Injects reports whether a request matched to the service carries a
// credential value: any auth type but passthrough, or a substitution.
func (s Service) Injects() bool {
	return s.Auth.Type != AuthPassthrough || len(s.Substitutions) > 0
}

// Widens names the rule of r that allows more than prev does, or "": a
// plaintext opt-in prev lacks, a method or allow glob prev does not list
// (or no list where prev had one), or a deny glob of prev that r drops.
// Any new glob counts, even one an old glob covers: the comparison is by
// text, so it never misses a widening. A new service is compared with the
// zero Rules, so only its plaintext opt-in counts.
func (r Rules) Widens(prev Rules) string {
	switch {
	case r.AllowPlaintext && !prev.AllowPlaintext:
		return "allow_plaintext"
	case len(prev.Methods) > 0 && !listWithin(r.Methods, prev.Methods):
		return "methods"
	case len(prev.Allow) > 0 && !listWithin(r.Allow, prev.Allow):
		return "paths.allow"
	case len(prev.Deny) > 0 && !listWithin(prev.Deny, r.Deny):
		return "paths.deny"
	}
	return ""
}

// listWithin reports a non-empty list whose every entry is in of.
func listWithin(list, of []string) bool {
	if len(list) == 0 && len(of) > 0 {
		return false
	}
	for _, x := range list {
		found := false
		for _, y := range of {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

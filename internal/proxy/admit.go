package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/agent-vault/agent-vault/internal/service"
)

// ruleProblemType identifies a refusal by a service rule (RFC 9457 "type").
const ruleProblemType = "urn:agent-vault:problem:service-rule-refused"

// admitService applies the matched service's own rules before anything is
// injected: plaintext only by opt-in, an unambiguous path for a
// path-scoped service (which is then forwarded exactly as matched), and
// the service's method and path rules. See docs/proxy.md.
func admitService(r *http.Request, s *service.Service, t target, cp canonPath) *brokerError {
	if berr := plaintextRefusal(s, t); berr != nil {
		return berr
	}
	if s.PathScoped() {
		if cp.ambiguous != "" {
			return fail(http.StatusBadRequest, "ambiguous_path", "service "+s.Name+" is limited to some paths, and this request's path is ambiguous: "+cp.ambiguous,
				"send the plain path the upstream should serve, without encoded /, \\ or ., backslashes, double encoding or ; beside dot segments")
		}
		// Forward what was matched, never the raw form a lenient upstream
		// could resolve elsewhere.
		r.URL.Path, r.URL.RawPath = cp.path, cp.raw
	}
	if d := s.Rules.Check(r.Method, cp.path); d.Refused {
		return ruleRefusal(s, t, r.Method, cp.path, d)
	}
	if len(s.Rules.Methods) > 0 {
		for _, m := range methodOverrides(r) {
			if d := s.Rules.Check(m, cp.path); d.Refused {
				d.Reason = "the request asks for " + m + " through a method override; " + d.Reason
				return ruleRefusal(s, t, r.Method, cp.path, d)
			}
		}
	}
	return nil
}

// overrideHeaders carry the method a framework serves instead of the
// request's own (Google APIs, Rails, ASP.NET, Laravel and others honour
// one or more of them).
var overrideHeaders = []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}

// methodOverrides lists the methods a request asks for besides its own,
// uppercased as frameworks read them: the override headers and a _method
// query parameter. Names are read as leniently as any framework reads
// them: a header with underscores for dashes (CGI and Symfony treat them
// alike); a query name percent-encoded, with '.' or a space for the
// underscore (PHP turns both into one), with brackets after it, or after
// a ';' (parsers that split on it). A _method field in a form body is not
// read.
func methodOverrides(r *http.Request) []string {
	var out []string
	for k, vs := range r.Header {
		if !isOverrideHeader(k) {
			continue
		}
		for _, v := range vs {
			out = append(out, strings.ToUpper(strings.TrimSpace(v)))
		}
	}
	q := r.URL.RawQuery
	if strings.IndexByte(q, '%') < 0 && !containsFold(q, "method") {
		return out // no name in it can spell _method
	}
	for pair := range strings.FieldsFuncSeq(q, func(c rune) bool { return c == '&' || c == ';' }) {
		name, value, _ := strings.Cut(pair, "=")
		if !isOverrideParam(name) {
			continue
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		out = append(out, strings.ToUpper(strings.TrimSpace(value)))
	}
	return out
}

// containsFold reports whether s holds word (lower-case ASCII) in any
// ASCII case.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if hasPrefixFold(s[i:], word) {
			return true
		}
	}
	return false
}

// isOverrideHeader reports a header field naming a method override, in
// any case, with dashes or underscores.
func isOverrideHeader(k string) bool {
	k = strings.ReplaceAll(k, "_", "-")
	for _, h := range overrideHeaders {
		if strings.EqualFold(k, h) {
			return true
		}
	}
	return false
}

// isOverrideParam reports a query parameter name some framework reads as
// _method. PHP ends a name at a NUL byte, drops its leading spaces and
// turns the other spaces and dots into underscores; both readings of
// leading spaces (dropped, or read as underscores) are checked.
func isOverrideParam(raw string) bool {
	name := raw
	if n, err := url.QueryUnescape(raw); err == nil {
		name = n
	}
	name, _, _ = strings.Cut(name, "\x00")
	name, _, _ = strings.Cut(name, "[")
	for _, n := range [...]string{name, strings.TrimLeft(name, " ")} {
		if strings.EqualFold(paramUnderscores.Replace(n), "_method") {
			return true
		}
	}
	return false
}

var paramUnderscores = strings.NewReplacer(".", "_", " ", "_")

// plaintextRefusal refuses a credential over http:// unless the service
// opted in with allow_plaintext, and always on port 443.
func plaintextRefusal(s *service.Service, t target) *brokerError {
	if t.scheme != "http" || !s.Injects() {
		return nil
	}
	switch {
	case t.port == 443:
		return fail(http.StatusForbidden, "insecure_transport", "service "+s.Name+" injects a credential, which is never sent over plain http:// to port 443",
			"use https://")
	case !s.Rules.AllowPlaintext:
		return fail(http.StatusForbidden, "insecure_transport", "service "+s.Name+" injects a credential, which is never sent over plain http://",
			"use https://; if this internal service really is plaintext, a vault member can set allow_plaintext: true on it")
	}
	return nil
}

// ruleRefusal is the 403 problem for a request outside a service's rules.
func ruleRefusal(s *service.Service, t target, method, path string, d service.RuleDecision) *brokerError {
	detail := "service " + s.Name + " refuses " + method + " " + path + ": " + d.Reason
	e := fail(http.StatusForbidden, "service_rule_refused", detail,
		"to ask for more, raise a proposal (POST /v1/proposals, see /v1/skills/cli) that sets service "+s.Name+" with the "+d.Rule+" rule widened; a vault member approves it")
	e.body.Type = ruleProblemType
	e.body.Title = "Refused by a service rule"
	e.body.Status = http.StatusForbidden
	e.body.Detail = detail
	e.body.Service = s.Name
	e.body.Rule = d.Rule
	e.body.ProposalHint = &ProposalHint{Host: t.authority(), Endpoint: "POST /v1/proposals", SupportedAuthTypes: service.SupportedAuthTypes()}
	return e
}

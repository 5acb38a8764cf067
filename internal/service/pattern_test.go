package service

import (
	"strings"
	"testing"
)

func TestParsePatternAccepts(t *testing.T) {
	cases := []struct {
		in   string
		want Pattern
	}{
		{"api.stripe.com", Pattern{Host: "api.stripe.com"}},
		{"localhost", Pattern{Host: "localhost"}},
		{"*.github.com", Pattern{Host: "github.com", Wildcard: true}},
		{"*.api.example.co.uk", Pattern{Host: "api.example.co.uk", Wildcard: true}},
		{"slack.com/api/*", Pattern{Host: "slack.com", Path: "/api/*"}},
		{"slack.com/api/apps.connections.*", Pattern{Host: "slack.com", Path: "/api/apps.connections.*"}},
		{"internal.corp:3000", Pattern{Host: "internal.corp", Port: 3000}},
		{"internal.corp:3000/api/*", Pattern{Host: "internal.corp", Port: 3000, Path: "/api/*"}},
		{"*.github.com:443/repos/*", Pattern{Host: "github.com", Wildcard: true, Port: 443, Path: "/repos/*"}},
		{"h.com:1", Pattern{Host: "h.com", Port: 1}},
		{"h.com:65535", Pattern{Host: "h.com", Port: 65535}},
		{"h.com/", Pattern{Host: "h.com", Path: "/"}},
		{"h.com/*", Pattern{Host: "h.com", Path: "/*"}},
		{"h.com/v1/charges", Pattern{Host: "h.com", Path: "/v1/charges"}},
		{"h.com/*/x/*", Pattern{Host: "h.com", Path: "/*/x/*"}},
		{"h.com/a*b", Pattern{Host: "h.com", Path: "/a*b"}},
		{"h.com/my%20files/*", Pattern{Host: "h.com", Path: "/my%20files/*"}},
		{"h.com/odata/$metadata", Pattern{Host: "h.com", Path: "/odata/$metadata"}},
		{"h.com/a-b_c.d~e!f&g'(h)+i,j;k=l:m@n", Pattern{Host: "h.com", Path: "/a-b_c.d~e!f&g'(h)+i,j;k=l:m@n"}},
		{"h.com//double", Pattern{Host: "h.com", Path: "//double"}},
		{"xn--bcher-kva.example", Pattern{Host: "xn--bcher-kva.example"}},
		{"my_bucket.s3.amazonaws.com", Pattern{Host: "my_bucket.s3.amazonaws.com"}},
		{"a-b.c-d.com", Pattern{Host: "a-b.c-d.com"}},
		{"123.example.com", Pattern{Host: "123.example.com"}},
		{"10.0.0.1", Pattern{Host: "10.0.0.1"}},
		{"10.0.0.1:8080/x", Pattern{Host: "10.0.0.1", Port: 8080, Path: "/x"}},
		{"[2001:db8::1]", Pattern{Host: "2001:db8::1"}},
		{"[2001:db8::1]:8443/api/*", Pattern{Host: "2001:db8::1", Port: 8443, Path: "/api/*"}},
		{"[::ffff:1.2.3.4]", Pattern{Host: "::ffff:1.2.3.4"}},
		{strings.Repeat("a", 63) + ".com", Pattern{Host: strings.Repeat("a", 63) + ".com"}},
		{strings.Repeat("a.", 126) + "b", Pattern{Host: strings.Repeat("a.", 126) + "b"}}, // 253 bytes
		{"h.com/" + strings.Repeat("a", MaxPathLen-1), Pattern{Host: "h.com", Path: "/" + strings.Repeat("a", MaxPathLen-1)}},
	}
	for _, c := range cases {
		got, err := ParsePattern(c.in)
		if err != nil {
			t.Errorf("ParsePattern(%q) = %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParsePattern(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if s := got.String(); s != c.in {
			t.Errorf("ParsePattern(%q).String() = %q; reads must return what was written", c.in, s)
		}
	}
}

func TestParsePatternRejects(t *testing.T) {
	cases := []struct {
		in, reason string
	}{
		{"", "required"},
		{"*", "bare `*`"},
		{"*:443", "bare `*`"},
		{"*/api/*", "bare `*`"},
		{"**.github.com", "`**` is not supported"},
		{"h.com/api/**", "`**` is not supported"},
		{"h.com/**/x", "`**` is not supported"},
		{"a*.b.com", "whole first label"},
		{"*a.b.com", "whole first label"},
		{"api.*.com", "whole first label"},
		{"api.github.*", "whole first label"},
		{"*.*.github.com", "whole first label"},
		{"*.", "domain must follow"},
		{"*.com", "at least two labels"},
		{"*.localhost", "at least two labels"},
		{"*.1.2.3.4", "cannot be combined with an IP"},
		{"*.2.3.4", "not an IPv4 address"},
		{"api.?.com", "`?` is not supported"},
		{"h.com/api/?", "`?` is not supported"},
		{"h.com/api?x=1", "`?` is not supported"},
		{"h.com/api#frag", "fragment"},
		{"^api\\.stripe\\.com$", "regex"},
		{"api.stripe.(com|io)", "regex"},
		{"api.stripe.c+m", "regex"},
		{"h.com/api/[a-z]", "regex"},
		{"h.com/api/{id}", "regex"},
		{"h.com/api/(v1|v2)", "regex"},
		{"h.com/api/\\d", "regex"},
		{"h.com/^api", "regex"},
		{"h.com/api$", "trailing `$`"},
		{"https://api.stripe.com", "scheme"},
		{"http://api.stripe.com/x", "scheme"},
		{"user@api.stripe.com", "userinfo"},
		{"user:pass@api.stripe.com", "userinfo"},
		{"api.stripe.com?x=1", "`?` is not supported"},
		{" api.stripe.com", "whitespace"},
		{"api.stripe.com ", "whitespace"},
		{"api. stripe.com", "whitespace"},
		{"h.com/a b", "whitespace"},
		{"h.com/a\tb", "whitespace"},
		{"api.stripe.com\n", "whitespace"},
		{"h.com\x00", "control"},
		{"API.stripe.com", `lowercase (write "api.stripe.com")`},
		{"*.GitHub.com", "lowercase"},
		{"api.stripe.com.", "must not end with a dot"},
		{"*.github.com.", "must not end with a dot"},
		{".stripe.com", "empty label"},
		{"api..stripe.com", "empty label"},
		{"-api.stripe.com", "hyphen"},
		{"api-.stripe.com", "hyphen"},
		{"api.stripe.com-", "hyphen"},
		{strings.Repeat("a", 64) + ".com", "limit is 63"},
		{strings.Repeat("a.", 126) + "bc", "limit is 253"},
		{"h.com/" + strings.Repeat("a", MaxPathLen), "limit is 1024"},
		{"api_stripe!.com", "not allowed in a host name"},
		{"api%2estripe.com", "not allowed in a host name"},
		{"api,stripe.com", "not allowed in a host name"},
		{"bücher.example", "only ASCII"},
		{"h.com/caf\u00e9", "only ASCII"},
		{"api.stripe.\u212aom", "only ASCII"}, // the Kelvin sign, which Unicode lowercases to k
		{"h.com/a\"b", "percent-encode"},
		{"h.com/a<b>", "percent-encode"},
		{"h.com/a`b", "percent-encode"},
		{"h.com/%", "percent-encoding"},
		{"h.com/%2", "percent-encoding"},
		{"h.com/%zz", "percent-encoding"},
		{"h.com:", "port after `:` is empty"},
		{"h.com:/x", "port after `:` is empty"},
		{"h.com:0", "leading zeros"},
		{"h.com:0443", "leading zeros"},
		{"h.com:65536", "out of range"},
		{"h.com:99999", "out of range"},
		{"h.com:123456", "not a number"},
		{"h.com:http", "not a number"},
		{"h.com:-1", "not a number"},
		{"h.com:+80", "not a number"},
		{"h.com:80:81", "brackets"},
		{"2001:db8::1", "brackets"},
		{"[2001:db8::1", "no closing `]`"},
		{"[2001:DB8::1]", "canonical form [2001:db8::1]"},
		{"[2001:db8:0::1]", "canonical form"},
		{"[1.2.3.4]", "not an IPv6 address"},
		{"[fe80::1%25eth0]", "zone"},
		{"[fe80::1%eth0]", "zone"},
		{"[::1]x", "unexpected"},
		{"[::1]:", "port after `:` is empty"},
		{"1.2.3", "not an IPv4 address"},
		{"1.2.3.4.5", "not an IPv4 address"},
		{"010.0.0.1", "not an IPv4 address"},
		{"256.0.0.1", "not an IPv4 address"},
		{"127.1", "not an IPv4 address"},
		{"0x7f.0.0.1", "not an IPv4 address"},
		{"example.0x7f", "not an IPv4 address"},
		{"4294967295", "not an IPv4 address"},
		{"/api/*", "host is missing"},
		{":443", "host is missing"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			p, err := ParsePattern(c.in)
			if p != (Pattern{}) {
				t.Errorf("returned %+v alongside an error", p)
			}
			checkInvalid(t, err, "host", c.reason)
		})
	}
}

func TestParsePatternMessageQuotesInput(t *testing.T) {
	_, err := ParsePattern("a*.b.com")
	checkInvalid(t, err, "host", `"a*.b.com" is not a valid host pattern`)
	long := strings.Repeat("x", 500) + "!"
	_, err = ParsePattern(long)
	if len(err.Error()) > 400 {
		t.Errorf("message for a long input is %d bytes; the input should be cut", len(err.Error()))
	}
}

func TestMatchesHost(t *testing.T) {
	cases := []struct {
		pattern, host string
		port          int
		want          bool
	}{
		{"api.stripe.com", "api.stripe.com", 443, true},
		{"api.stripe.com", "api.stripe.com", 8080, true}, // no port = any port
		{"api.stripe.com", "API.Stripe.COM", 443, true},
		{"api.stripe.com", "api.stripe.com.", 443, true}, // a fully qualified name
		{"api.stripe.com", "api.stripe.com..", 443, false},
		{"api.stripe.com", "stripe.com", 443, false},
		{"api.stripe.com", "x.api.stripe.com", 443, false},
		{"api.stripe.com", "api.stripe.com.evil.com", 443, false},
		{"api.stripe.com", "api.stripe.\u212aom", 443, false}, // Kelvin sign is not k
		{"api.stripe.com", "", 443, false},
		{"*.github.com", "api.github.com", 443, true},
		{"*.github.com", "API.GITHUB.COM", 443, true},
		{"*.github.com", "uploads.github.com", 80, true},
		{"*.github.com", "a.b.github.com", 443, false},
		{"*.github.com", "github.com", 443, false},
		{"*.github.com", ".github.com", 443, false},
		{"*.github.com", "evilgithub.com", 443, false},
		{"*.github.com", "api.github.com.evil.com", 443, false},
		{"*.github.com", "a/b.github.com", 443, false},
		{"*.github.com", "a:b.github.com", 443, false},
		{"*.github.com", "x@api.github.com", 443, false},
		{"*.github.com", "api.github.co", 443, false},
		{"*.github.com:443", "api.github.com", 443, true},
		{"*.github.com:443", "api.github.com", 8443, false},
		{"internal.corp:3000", "internal.corp", 3000, true},
		{"internal.corp:3000", "internal.corp", 3001, false},
		{"internal.corp:3000", "internal.corp", 0, false},
		{"10.0.0.1", "10.0.0.1", 80, true},
		{"10.0.0.1", "10.0.0.2", 80, false},
		{"[2001:db8::1]", "2001:db8::1", 443, true},
		{"[2001:db8::1]", "[2001:db8::1]", 443, true},
		{"[2001:db8::1]", "2001:DB8:0::1", 443, true}, // compared canonically
		{"[2001:db8::1]", "2001:db8::2", 443, false},
		{"[2001:db8::1]:8443", "2001:db8::1", 443, false},
	}
	for _, c := range cases {
		p := mustPattern(t, c.pattern)
		if got := p.MatchesHost(c.host, c.port); got != c.want {
			t.Errorf("%q.MatchesHost(%q, %d) = %v, want %v", c.pattern, c.host, c.port, got, c.want)
		}
		if got := p.CouldMatchHost(c.host, c.port); got != c.want {
			t.Errorf("%q.CouldMatchHost(%q, %d) = %v, want %v", c.pattern, c.host, c.port, got, c.want)
		}
	}
	if (Pattern{}).MatchesHost("", 0) {
		t.Error("the zero Pattern matches the empty host")
	}
}

func TestMatchesPath(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"h.com", "/anything/at/all", true},
		{"h.com", "", true},
		{"h.com/api/*", "/api/x", true},
		{"h.com/api/*", "/api/x/y", true}, // * is greedy across /
		{"h.com/api/*", "/api/", true},
		{"h.com/api/*", "/api", false},
		{"h.com/api/*", "/apix", false},
		{"h.com/api/*", "/API/x", false}, // case-sensitive
		{"h.com/api/*", "/v2/api/x", false},
		{"h.com/v1/charges", "/v1/charges", true},
		{"h.com/v1/charges", "/v1/charges/ch_1", false},
		{"h.com/v1/charges", "/v1/charge", false},
		{"h.com/", "/", true},
		{"h.com/", "", true}, // an empty path is "/"
		{"h.com/", "/x", false},
		{"h.com/*", "/", true},
		{"h.com/*", "/a/b/c", true},
		{"h.com/*/x", "/a/b/x", true},
		{"h.com/*/x", "/a/b/y", false},
		{"h.com/a*b", "/ab", true},
		{"h.com/a*b", "/a/x/b", true},
		{"h.com/a*b", "/a/x/bc", false},
		{"h.com/a*b*c", "/abbbcbc", true},
		{"h.com/a*b*c", "/abbbcbd", false},
		{"h.com/*.json", "/x.json.json", true},
		{"h.com/*.json", "/x.json.jsonp", false},
		{"h.com/api/apps.connections.*", "/api/apps.connections.open", true},
		{"h.com/api/apps.connections.*", "/api/apps_connections.open", false}, // "." is literal
		// The path is the decoded one the proxy matches on; the glob is
		// compared decoded too.
		{"h.com/my%20files/*", "/my files/a", true},
		{"h.com/my%20files/*", "/my%20files/a", false}, // a decoded path holding %20 was sent as %2520
		{"h.com/caf%C3%A9/*", "/café/menu", true},
		{"h.com/a%3Fb", "/a?b", true},
		// A stored glob with an escape new services may not hold matches
		// nothing: never the wildcard, separator or % it decodes to.
		{"h.com/files/%2A", "/files/secret", false},
		{"h.com/files/%2A", "/files/*", false},
		{"h.com/a%2Fb/*", "/a/b/x", false},
		{"h.com/a%2fb/*", "/a/b/x", false},
		{"h.com/%2E%2E/*", "/../x", false},
		{"h.com/a%5Cb", `/a\b`, false},
		{"h.com/a%25b", "/a%b", false},
		{"h.com/a%0Ab", "/a\nb", false},
		{"h.com/%C0%AE", "/\xc0\xae", false},
		{"h.com/%41", "/A", false},
		{"h.com/caf%c3%a9", "/café", false},
	}
	for _, c := range cases {
		p := mustPattern(t, c.pattern)
		if got := p.MatchesPath(c.path); got != c.want {
			t.Errorf("%q.MatchesPath(%q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
		if got := p.Matches("h.com", 443, c.path); got != c.want {
			t.Errorf("%q.Matches(h.com, 443, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
	if mustPattern(t, "h.com/*").Matches("other.com", 443, "/") {
		t.Error("Matches ignored the host")
	}
}

// globOracle is an independent, exponential but obviously correct glob.
func globOracle(pat, s string) bool {
	if pat == "" {
		return s == ""
	}
	if pat[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if globOracle(pat[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && s[0] == pat[0] && globOracle(pat[1:], s[1:])
}

func TestGlobMatchAgreesWithOracle(t *testing.T) {
	alphabet := []string{"a", "b", "/"}
	var strs []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		strs = append(strs, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("", 5)
	pats := []string{"", "*", "a", "a*", "*a", "*a*", "a*b", "*/*", "a*a*a", "*b*a*", "/a*/b", "**"}
	n := 0
	for _, p := range pats {
		for _, s := range strs {
			n++
			if got, want := globMatch(p, s), globOracle(p, s); got != want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", p, s, got, want)
			}
		}
	}
	if n < 3000 {
		t.Fatalf("only %d cases", n)
	}
}

func TestLiteralPrefixLen(t *testing.T) {
	for in, want := range map[string]int{
		"h.com":                            0,
		"h.com/":                           1,
		"h.com/*":                          1,
		"h.com/api/*":                      5,
		"h.com/api/apps.connections.*":     22,
		"h.com/v1/charges":                 11,
		"h.com/a*b*c":                      2,
		"*.github.com:443/repos/*/issues/": 7,
	} {
		if got := mustPattern(t, in).LiteralPrefixLen(); got != want {
			t.Errorf("%q.LiteralPrefixLen() = %d, want %d", in, got, want)
		}
	}
}

func TestPatternStringZero(t *testing.T) {
	if s := (Pattern{}).String(); s != "" {
		t.Errorf("zero Pattern prints %q", s)
	}
}

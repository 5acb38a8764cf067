package service

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestPathEscapes: a new service's path globs may percent-encode only what
// cannot be written as itself, in uppercase hex; every other escape is
// refused with what to write instead, in the host pattern and in path
// rules alike. A refused one stored earlier still loads.
func TestPathEscapes(t *testing.T) {
	for _, c := range []struct {
		host         string
		allow, deny  []string
		field        string // "" when accepted
		wantInReason []string
	}{
		{host: "h.com/my%20files/*"},
		{host: "h.com/caf%C3%A9/*"},
		{host: "h.com/a%3Fb%23c%5B%5D"},
		{host: "h.com/x/*", allow: []string{"/x/my%20files/*"}, deny: []string{"/x/%7Badmin%7D*"}},
		{host: "h.com/files/%2A", field: "services[0].host", wantInReason: []string{"%2A encodes *", "write * for the wildcard"}},
		{host: "h.com/a%2Fb/*", field: "services[0].host", wantInReason: []string{"%2F encodes /", "write / itself"}},
		{host: "h.com/a%2fb/*", field: "services[0].host", wantInReason: []string{"%2f encodes /"}},
		{host: "h.com/%2E%2E/*", field: "services[0].host", wantInReason: []string{"%2E encodes .", "write . itself"}},
		{host: "h.com/a%5Cb", field: "services[0].host", wantInReason: []string{"backslash", "could never match"}},
		{host: "h.com/a%25b", field: "services[0].host", wantInReason: []string{"%25 encodes %", "double encoding"}},
		{host: "h.com/a%00b", field: "services[0].host", wantInReason: []string{"control character"}},
		{host: "h.com/%41pi/*", field: "services[0].host", wantInReason: []string{`%41 encodes "A"`, "write A"}},
		{host: "h.com/a%3Ab", field: "services[0].host", wantInReason: []string{"write :"}},
		{host: "h.com/caf%c3%a9", field: "services[0].host", wantInReason: []string{"uppercase", "%C3, not %c3"}},
		{host: "h.com/%C0%AE", field: "services[0].host", wantInReason: []string{"UTF-8", "%C3%A9"}},
		{host: "h.com/%E9", field: "services[0].host", wantInReason: []string{"UTF-8"}},
		{host: "h.com/x/*", allow: []string{"/x/ok", "/x/a%2Fb"}, field: "services[0].paths.allow[1]", wantInReason: []string{"%2F encodes /"}},
		{host: "h.com/x/*", deny: []string{"/x/%61dmin"}, field: "services[0].paths.deny[0]", wantInReason: []string{"write a"}},
	} {
		a := apitype.Service{Name: "svc", Host: c.host, Auth: apitype.ServiceAuth{Type: "passthrough"}}
		if c.allow != nil || c.deny != nil {
			a.Paths = &apitype.PathRules{Allow: c.allow, Deny: c.deny}
		}
		s, err := FromAPI(a, "services[0]")
		if err != nil {
			t.Errorf("%s: FromAPI refused what a stored set may hold: %v", c.host, err)
			continue
		}
		err = ValidateSet([]Service{s})
		if c.field == "" {
			if err != nil {
				t.Errorf("%s %v %v: refused: %v", c.host, c.allow, c.deny, err)
			}
			continue
		}
		t.Run(c.host, func(t *testing.T) { checkInvalid(t, err, c.field, c.wantInReason...) })
		if err := CheckPathEscapes(s, "services[0]"); err == nil {
			t.Errorf("%s: CheckPathEscapes accepted what ValidateSet refused", c.host)
		}
	}
}

// TestStoredRefusedEscapeMatchesNothing: an allow glob stored with a
// refused escape allows nothing (the request is refused), and a deny glob
// still denies its decoded form.
func TestStoredRefusedEscapeMatchesNothing(t *testing.T) {
	r := Rules{Allow: []string{"/x/%2A"}}
	if d := r.Check("GET", "/x/anything"); !d.Refused {
		t.Errorf("allow /x/%%2A allowed /x/anything: %+v", d)
	}
	r = Rules{Deny: []string{"/x/a%2Fb"}}
	if d := r.Check("GET", "/x/a/b"); !d.Refused {
		t.Errorf("deny /x/a%%2Fb did not deny /x/a/b: %+v", d)
	}
	r = Rules{Allow: []string{"/my%20files/*"}, Deny: []string{"/my%20files/private*"}}
	if d := r.Check("GET", "/my files/a"); d.Refused {
		t.Errorf("allow /my%%20files/* refused /my files/a: %+v", d)
	}
	if d := r.Check("GET", "/my files/PRIVATE/x"); !d.Refused {
		t.Errorf("deny /my%%20files/private* allowed /my files/PRIVATE/x: %+v", d)
	}
}

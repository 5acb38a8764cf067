package oauth

import (
	"errors"
	"net/url"
	"testing"
)

// The example of RFC 7636 appendix B.
func TestChallengeS256RFCExample(t *testing.T) {
	if got := ChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("challenge = %q", got)
	}
}

func TestNewVerifierIsFreshAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v := NewVerifier()
		if len(v) != 43 {
			t.Fatalf("verifier %q: length %d, want 43", v, len(v))
		}
		for _, c := range v {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("verifier %q holds %q, outside the unreserved set", v, c)
			}
		}
		if seen[v] {
			t.Fatalf("verifier %q repeated", v)
		}
		seen[v] = true
	}
}

func TestAuthorizationURL(t *testing.T) {
	base := AuthorizationRequest{Endpoint: "https://idp.example/authorize?prompt=consent", ClientID: "cid", RedirectURI: "https://vault.example/v1/oauth/callback",
		State: "st&ate", Scopes: []string{"read", "write"}, Challenge: "ch"}
	t.Run("pkce and kept parameters", func(t *testing.T) {
		got, err := AuthorizationURL(base)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(got)
		q := u.Query()
		want := map[string]string{"prompt": "consent", "response_type": "code", "client_id": "cid", "redirect_uri": base.RedirectURI,
			"state": "st&ate", "scope": "read write", "code_challenge": "ch", "code_challenge_method": "S256"}
		for k, v := range want {
			if q.Get(k) != v {
				t.Errorf("%s = %q, want %q (url %s)", k, q.Get(k), v, got)
			}
		}
		if u.Host != "idp.example" || u.Path != "/authorize" {
			t.Errorf("endpoint changed: %s", got)
		}
	})
	t.Run("pkce off and a comma separator", func(t *testing.T) {
		r := base
		r.Challenge, r.ScopeSeparator = "", ","
		got, err := AuthorizationURL(r)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.ParseQuery(got[len("https://idp.example/authorize?"):])
		if q.Has("code_challenge") || q.Has("code_challenge_method") {
			t.Errorf("PKCE sent although off: %s", got)
		}
		if q.Get("scope") != "read,write" {
			t.Errorf("scope = %q", q.Get("scope"))
		}
	})
	// An endpoint that smuggles its own redirect_uri or state would send
	// the code elsewhere, or pin a state: refused.
	for _, p := range []string{"redirect_uri=https://evil.example/", "state=fixed", "client_id=x", "code_challenge_method=plain", "scope=admin", "response_type=token"} {
		r := base
		r.Endpoint = "https://idp.example/authorize?" + p
		if _, err := AuthorizationURL(r); !errors.Is(err, ErrReservedParam) {
			t.Errorf("endpoint with %s: err = %v, want ErrReservedParam", p, err)
		}
	}
}

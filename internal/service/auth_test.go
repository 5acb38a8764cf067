package service

import (
	"reflect"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
)

func TestAuthFromAPIAccepts(t *testing.T) {
	cases := []struct {
		name string
		in   apitype.ServiceAuth
		want Auth
	}{
		{"bearer", apitype.ServiceAuth{Type: "bearer", Token: "STRIPE_KEY"}, Auth{Type: AuthBearer, Token: "STRIPE_KEY"}},
		{"basic", apitype.ServiceAuth{Type: "basic", Username: "U", Password: "P_2"}, Auth{Type: AuthBasic, Username: "U", Password: "P_2"}},
		{"basic without password", apitype.ServiceAuth{Type: "basic", Username: "U"}, Auth{Type: AuthBasic, Username: "U"}},
		{"api-key default header", apitype.ServiceAuth{Type: "api-key", Key: "K"}, Auth{Type: AuthAPIKey, Key: "K", Header: "Authorization"}},
		{"api-key header and prefix", apitype.ServiceAuth{Type: "api-key", Key: "K", Header: "X-Api-Key", Prefix: "token "},
			Auth{Type: AuthAPIKey, Key: "K", Header: "X-Api-Key", Prefix: "token "}},
		{"api-key odd token chars", apitype.ServiceAuth{Type: "api-key", Key: "K", Header: "X-Key_1.v2!#$%&'*+^`|~"},
			Auth{Type: AuthAPIKey, Key: "K", Header: "X-Key_1.v2!#$%&'*+^`|~"}},
		{"custom", apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Auth": "Token {{ A }}", "X-Id": "{{B}}"}},
			Auth{Type: AuthCustom, Headers: map[string]string{"X-Auth": "Token {{ A }}", "X-Id": "{{B}}"}}},
		{"custom with a static header", apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"Authorization": "Bearer {{ T }}", "X-Client": "agent-vault"}},
			Auth{Type: AuthCustom, Headers: map[string]string{"Authorization": "Bearer {{ T }}", "X-Client": "agent-vault"}}},
		{"custom Sec-WebSocket-Protocol", apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"Sec-WebSocket-Protocol": "bearer.{{ T }}"}},
			Auth{Type: AuthCustom, Headers: map[string]string{"Sec-WebSocket-Protocol": "bearer.{{ T }}"}}},
		{"passthrough", apitype.ServiceAuth{Type: "passthrough"}, Auth{Type: AuthPassthrough}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := AuthFromAPI(c.in, "auth")
			if err != nil {
				t.Fatalf("AuthFromAPI: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			// The wire form of a valid config validates to the same config.
			again, err := AuthFromAPI(got.ToAPI(), "auth")
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("ToAPI round trip: %+v, %v", again, err)
			}
		})
	}
}

func TestAuthFromAPIRejects(t *testing.T) {
	hdr := func(m map[string]string) apitype.ServiceAuth { return apitype.ServiceAuth{Type: "custom", Headers: m} }
	cases := []struct {
		name  string
		in    apitype.ServiceAuth
		field string
		want  string
	}{
		{"no type", apitype.ServiceAuth{Token: "K"}, "type", "required"},
		{"unknown type", apitype.ServiceAuth{Type: "oauth"}, "type", "unknown auth type"},
		{"type is case-sensitive", apitype.ServiceAuth{Type: "Bearer", Token: "K"}, "type", "unknown auth type"},

		{"bearer without token", apitype.ServiceAuth{Type: "bearer"}, "token", "bearer auth needs token"},
		{"bearer token not a key", apitype.ServiceAuth{Type: "bearer", Token: "stripe_key"}, "token", "^[A-Z][A-Z0-9_]*$"},
		{"bearer token template", apitype.ServiceAuth{Type: "bearer", Token: "{{ KEY }}"}, "token", "^[A-Z][A-Z0-9_]*$"},
		{"bearer with username", apitype.ServiceAuth{Type: "bearer", Token: "K", Username: "U"}, "username", "not used by bearer"},
		{"bearer with password", apitype.ServiceAuth{Type: "bearer", Token: "K", Password: "P"}, "password", "not used by bearer"},
		{"bearer with key", apitype.ServiceAuth{Type: "bearer", Token: "K", Key: "K"}, "key", "not used by bearer"},
		{"bearer with header", apitype.ServiceAuth{Type: "bearer", Token: "K", Header: "X"}, "header", "not used by bearer"},
		{"bearer with prefix", apitype.ServiceAuth{Type: "bearer", Token: "K", Prefix: "x"}, "prefix", "not used by bearer"},
		{"bearer with headers", apitype.ServiceAuth{Type: "bearer", Token: "K", Headers: map[string]string{"X": "{{ K }}"}}, "headers", "not used by bearer"},

		{"basic without username", apitype.ServiceAuth{Type: "basic", Password: "P"}, "username", "basic auth needs username"},
		{"basic bad username", apitype.ServiceAuth{Type: "basic", Username: "alice"}, "username", "must name a credential key"},
		{"basic bad password", apitype.ServiceAuth{Type: "basic", Username: "U", Password: "hunter2"}, "password", "must name a credential key"},
		{"basic with token", apitype.ServiceAuth{Type: "basic", Username: "U", Token: "T"}, "token", "not used by basic"},
		{"basic with key", apitype.ServiceAuth{Type: "basic", Username: "U", Key: "T"}, "key", "not used by basic"},
		{"basic with header", apitype.ServiceAuth{Type: "basic", Username: "U", Header: "X"}, "header", "not used by basic"},
		{"basic with prefix", apitype.ServiceAuth{Type: "basic", Username: "U", Prefix: "x"}, "prefix", "not used by basic"},
		{"basic with headers", apitype.ServiceAuth{Type: "basic", Username: "U", Headers: map[string]string{"X": "{{ K }}"}}, "headers", "not used by basic"},

		{"api-key without key", apitype.ServiceAuth{Type: "api-key", Header: "X-Api-Key"}, "key", "api-key auth needs key"},
		{"api-key bad key", apitype.ServiceAuth{Type: "api-key", Key: "k"}, "key", "must name a credential key"},
		{"api-key with token", apitype.ServiceAuth{Type: "api-key", Key: "K", Token: "T"}, "token", "not used by api-key"},
		{"api-key with username", apitype.ServiceAuth{Type: "api-key", Key: "K", Username: "U"}, "username", "not used by api-key"},
		{"api-key with password", apitype.ServiceAuth{Type: "api-key", Key: "K", Password: "P"}, "password", "not used by api-key"},
		{"api-key with headers", apitype.ServiceAuth{Type: "api-key", Key: "K", Headers: map[string]string{"X": "{{ K }}"}}, "headers", "not used by api-key"},
		{"api-key header with space", apitype.ServiceAuth{Type: "api-key", Key: "K", Header: "X Api"}, "header", "not a valid HTTP field name"},
		{"api-key header with colon", apitype.ServiceAuth{Type: "api-key", Key: "K", Header: "X-Api:"}, "header", "not a valid HTTP field name"},
		{"api-key header with CRLF", apitype.ServiceAuth{Type: "api-key", Key: "K", Header: "X\r\nEvil"}, "header", "not a valid HTTP field name"},
		{"api-key prefix with CRLF", apitype.ServiceAuth{Type: "api-key", Key: "K", Prefix: "x\r\nEvil: 1\r\n"}, "prefix", "control characters"},
		{"api-key prefix too long", apitype.ServiceAuth{Type: "api-key", Key: "K", Prefix: strings.Repeat("x", MaxPrefixLen+1)}, "prefix", "limit is 256"},
		{"api-key prefix not UTF-8", apitype.ServiceAuth{Type: "api-key", Key: "K", Prefix: "\xff"}, "prefix", "UTF-8"},

		{"custom without headers", apitype.ServiceAuth{Type: "custom"}, "headers", "custom auth needs headers"},
		{"custom with token", apitype.ServiceAuth{Type: "custom", Token: "T", Headers: map[string]string{"X": "{{ K }}"}}, "token", "not used by custom"},
		{"custom with header", apitype.ServiceAuth{Type: "custom", Header: "X", Headers: map[string]string{"X": "{{ K }}"}}, "header", "not used by custom"},
		{"custom empty template", hdr(map[string]string{"X-A": ""}), `headers["X-A"]`, "empty"},
		{"custom unclosed", hdr(map[string]string{"X-A": "Bearer {{ K"}), `headers["X-A"]`, "not closed"},
		{"custom half closed", hdr(map[string]string{"X-A": "Bearer {{ K }"}), `headers["X-A"]`, "not closed"},
		{"custom stray close", hdr(map[string]string{"X-A": "Bearer K }}"}), `headers["X-A"]`, "no matching `{{`"},
		{"custom bad key", hdr(map[string]string{"X-A": "{{ key }}"}), `headers["X-A"]`, "must name a credential key"},
		{"custom empty placeholder", hdr(map[string]string{"X-A": "{{}}"}), `headers["X-A"]`, "must name a credential key"},
		{"custom CRLF", hdr(map[string]string{"X-A": "{{ K }}\r\nX-Evil: 1"}), `headers["X-A"]`, "control characters"},
		{"custom no key at all", hdr(map[string]string{"X-A": "static"}), "headers", "at least one credential key"},
		{"custom bad header name", hdr(map[string]string{"X A": "{{ K }}"}), `headers["X A"]`, "not a valid HTTP field name"},
		{"custom empty header name", hdr(map[string]string{"": "{{ K }}"}), `headers[""]`, "empty"},
		{"custom duplicate by case", hdr(map[string]string{"X-Key": "{{ K }}", "x-key": "{{ K }}"}), `headers["x-key"]`, "case-insensitive"},
		{"custom too many", hdr(manyHeaders(MaxCustomHeaders + 1)), "headers", "limit is 20"},

		{"passthrough with token", apitype.ServiceAuth{Type: "passthrough", Token: "T"}, "token", "passthrough auth injects nothing"},
		{"passthrough with username", apitype.ServiceAuth{Type: "passthrough", Username: "U"}, "username", "not used by passthrough"},
		{"passthrough with password", apitype.ServiceAuth{Type: "passthrough", Password: "P"}, "password", "not used by passthrough"},
		{"passthrough with key", apitype.ServiceAuth{Type: "passthrough", Key: "K"}, "key", "not used by passthrough"},
		{"passthrough with header", apitype.ServiceAuth{Type: "passthrough", Header: "X-A"}, "header", "not used by passthrough"},
		{"passthrough with prefix", apitype.ServiceAuth{Type: "passthrough", Prefix: "Bearer "}, "prefix", "not used by passthrough"},
		{"passthrough with headers", apitype.ServiceAuth{Type: "passthrough", Headers: map[string]string{"X-A": "{{ K }}"}}, "headers", "not used by passthrough"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := AuthFromAPI(c.in, "services[3].auth")
			if !reflect.DeepEqual(got, Auth{}) {
				t.Errorf("returned %+v alongside an error", got)
			}
			checkInvalid(t, err, "services[3].auth."+c.field, c.want)
		})
	}
}

func manyHeaders(n int) map[string]string {
	m := map[string]string{}
	for i := 0; i < n; i++ {
		m["X-H"+strings.Repeat("a", i)] = "{{ K }}"
	}
	return m
}

func TestManagedHeadersRefused(t *testing.T) {
	for _, h := range []string{
		"Host", "host", "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
		"Content-Length", "Expect", "Proxy-Authorization", "proxy-authenticate", "Proxy-Connection",
		"X-Vault", "x-vault", "X-Agent-Vault-Proxy-Error", "Set-Cookie",
		"Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept",
	} {
		_, err := AuthFromAPI(apitype.ServiceAuth{Type: "api-key", Key: "K", Header: h}, "auth")
		checkInvalid(t, err, "auth.header", "cannot be set by a service")
		_, err = AuthFromAPI(apitype.ServiceAuth{Type: "custom", Headers: map[string]string{h: "{{ K }}"}}, "auth")
		checkInvalid(t, err, `auth.headers["`+h+`"]`, "cannot be set by a service")
	}
	for _, h := range []string{"Authorization", "X-Api-Key", "Cookie", "X-Vaulted", "Sec-WebSocket-Protocol", "Proxy"} {
		if _, err := AuthFromAPI(apitype.ServiceAuth{Type: "api-key", Key: "K", Header: h}, "auth"); err != nil {
			t.Errorf("header %q refused: %v", h, err)
		}
	}
}

func TestSupportedAuthTypes(t *testing.T) {
	want := []string{"bearer", "basic", "api-key", "custom", "passthrough"}
	if got := SupportedAuthTypes(); !reflect.DeepEqual(got, want) {
		t.Errorf("SupportedAuthTypes = %v", got)
	}
	for _, typ := range want {
		_, err := AuthFromAPI(apitype.ServiceAuth{Type: typ}, "auth")
		if e, ok := errs.As(err); ok && strings.Contains(e.Message, "unknown auth type") {
			t.Errorf("%s is listed but unknown", typ)
		}
	}
}

// vault is a lookup over fixed values that counts calls.
type vault struct {
	values map[string]string
	calls  map[string]int
}

func (v *vault) lookup(k string) ([]byte, bool) {
	if v.calls == nil {
		v.calls = map[string]int{}
	}
	v.calls[k]++
	s, ok := v.values[k]
	return []byte(s), ok
}

func TestRender(t *testing.T) {
	values := map[string]string{
		"TOKEN": "sk_live_123", "USER": "alice", "PASS": "s3cret", "KEY": "abc",
		"ORG": "org-9", "CRLF": "x\r\nEvil: 1", "COLON": "a:b", "NUL": "a\x00b",
	}
	cases := []struct {
		name string
		auth Auth
		want map[string]string
	}{
		{"bearer", Auth{Type: AuthBearer, Token: "TOKEN"}, map[string]string{"Authorization": "Bearer sk_live_123"}},
		{"basic", Auth{Type: AuthBasic, Username: "USER", Password: "PASS"}, map[string]string{"Authorization": "Basic YWxpY2U6czNjcmV0"}},
		{"basic without password", Auth{Type: AuthBasic, Username: "USER"}, map[string]string{"Authorization": "Basic YWxpY2U6"}},
		{"basic encodes control bytes", Auth{Type: AuthBasic, Username: "USER", Password: "CRLF"}, map[string]string{"Authorization": "Basic YWxpY2U6eA0KRXZpbDogMQ=="}},
		{"api-key default header", Auth{Type: AuthAPIKey, Key: "KEY", Header: "Authorization"}, map[string]string{"Authorization": "abc"}},
		{"api-key unset header", Auth{Type: AuthAPIKey, Key: "KEY"}, map[string]string{"Authorization": "abc"}},
		{"api-key header and prefix", Auth{Type: AuthAPIKey, Key: "KEY", Header: "X-Api-Key", Prefix: "token "}, map[string]string{"X-Api-Key": "token abc"}},
		{"custom", Auth{Type: AuthCustom, Headers: map[string]string{
			"Authorization": "Bearer {{ TOKEN }}", "X-Org": "{{ORG}}", "X-Both": "{{  KEY\t}}:{{ ORG }}-{{KEY}}", "X-Static": "v1",
		}}, map[string]string{"Authorization": "Bearer sk_live_123", "X-Org": "org-9", "X-Both": "abc:org-9-abc", "X-Static": "v1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &vault{values: values}
			got, missing, err := c.auth.Render(v.lookup)
			if err != nil || missing != "" {
				t.Fatalf("Render: missing %q, err %v", missing, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Render = %q, want %q", got, c.want)
			}
			for k, n := range v.calls {
				if n != 1 {
					t.Errorf("key %s looked up %d times", k, n)
				}
			}
		})
	}

	got, missing, err := Auth{Type: AuthPassthrough}.Render(func(string) ([]byte, bool) {
		t.Error("passthrough looked a key up")
		return nil, false
	})
	if got != nil || missing != "" || err != nil {
		t.Errorf("passthrough Render = %v, %q, %v", got, missing, err)
	}
}

func TestRenderMissingKey(t *testing.T) {
	cases := []struct {
		auth Auth
		want string
	}{
		{Auth{Type: AuthBearer, Token: "GONE"}, "GONE"},
		{Auth{Type: AuthBasic, Username: "USER", Password: "GONE"}, "GONE"},
		{Auth{Type: AuthAPIKey, Key: "GONE", Header: "X-K"}, "GONE"},
		// The first missing key in sorted order, whatever the map order.
		{Auth{Type: AuthCustom, Headers: map[string]string{"X-A": "{{ ZZZ }}", "X-B": "{{ USER }}{{ GONE }}", "X-C": "{{ MISSING }}"}}, "GONE"},
	}
	for _, c := range cases {
		for i := 0; i < 20; i++ {
			v := &vault{values: map[string]string{"USER": "alice"}}
			got, missing, err := c.auth.Render(v.lookup)
			if got != nil || err != nil || missing != c.want {
				t.Fatalf("%+v: Render = %v, %q, %v; want missing %q", c.auth, got, missing, err, c.want)
			}
		}
	}
}

func TestRenderRefusesUnsafeValues(t *testing.T) {
	values := map[string]string{"CRLF": "x\r\nEvil: 1", "NUL": "a\x00b", "DEL": "a\x7fb", "COLON": "a:b", "OK": "v"}
	cases := []struct {
		auth Auth
		key  string
	}{
		{Auth{Type: AuthBearer, Token: "CRLF"}, "CRLF"},
		{Auth{Type: AuthAPIKey, Key: "NUL", Header: "X-K"}, "NUL"},
		{Auth{Type: AuthCustom, Headers: map[string]string{"X-A": "{{ OK }}", "X-B": "{{ DEL }}"}}, "DEL"},
		{Auth{Type: AuthBasic, Username: "COLON", Password: "OK"}, "COLON"},
	}
	for _, c := range cases {
		v := &vault{values: values}
		got, missing, err := c.auth.Render(v.lookup)
		if got != nil || missing != "" || err == nil {
			t.Errorf("%+v: Render = %q, %q, %v; want an error", c.auth, got, missing, err)
			continue
		}
		if !strings.Contains(err.Error(), c.key) {
			t.Errorf("error %q does not name key %s", err, c.key)
		}
		for _, secret := range values {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains a credential value", err)
			}
		}
	}
	// A tab is a legal header character.
	got, _, err := Auth{Type: AuthBearer, Token: "T"}.Render(func(string) ([]byte, bool) { return []byte("a\tb"), true })
	if err != nil || got["Authorization"] != "Bearer a\tb" {
		t.Errorf("tab refused: %q, %v", got, err)
	}
}

func TestRenderMalformedAuth(t *testing.T) {
	ok := func(string) ([]byte, bool) { return []byte("v"), true }
	if _, _, err := (Auth{Type: "oauth"}).Render(ok); err == nil {
		t.Error("unknown type rendered")
	}
	if _, _, err := (Auth{Type: AuthCustom, Headers: map[string]string{"X": "{{ K"}}).Render(ok); err == nil {
		t.Error("unclosed template rendered")
	}
}

func TestAuthKeys(t *testing.T) {
	cases := []struct {
		auth Auth
		want []string
	}{
		{Auth{Type: AuthPassthrough}, nil},
		{Auth{Type: AuthBearer, Token: "T"}, []string{"T"}},
		{Auth{Type: AuthBasic, Username: "U", Password: "P"}, []string{"P", "U"}},
		{Auth{Type: AuthBasic, Username: "U", Password: "U"}, []string{"U"}},
		{Auth{Type: AuthAPIKey, Key: "K", Header: "X"}, []string{"K"}},
		{Auth{Type: AuthCustom, Headers: map[string]string{"A": "{{ Z }}{{ B }}", "B": "{{B}}-{{ C }}"}}, []string{"B", "C", "Z"}},
	}
	for _, c := range cases {
		if got := c.auth.Keys(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v.Keys() = %v, want %v", c.auth, got, c.want)
		}
	}
}

// A secret pasted where a key name belongs is never repeated in the error.
func TestKeyErrorsDoNotEchoInput(t *testing.T) {
	const secret = "sk_live_51HxQ2eZvKYlo2C"
	cases := []apitype.ServiceAuth{
		{Type: "bearer", Token: secret},
		{Type: "basic", Username: secret},
		{Type: "basic", Username: "U", Password: secret},
		{Type: "api-key", Key: secret},
		{Type: "custom", Headers: map[string]string{"Authorization": "Bearer {{ " + secret + " }}"}},
	}
	for _, a := range cases {
		_, err := AuthFromAPI(a, "auth")
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("%+v: error %v", a, err)
		}
	}
	_, err := SubstitutionFromAPI(apitype.Substitution{Key: secret, Placeholder: "__K__"}, "s")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("substitution key: error %v", err)
	}
}

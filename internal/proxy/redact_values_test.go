package proxy

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/redact"
	"github.com/agent-vault/agent-vault/internal/service"
)

// redactionFor covers each value a service references, raw and in every
// encoding the proxy or a JSON/URL echo may give it, and the base64 of
// basic auth; nothing for an opted-out service or values too short.
func TestRedactionForCoversEncodings(t *testing.T) {
	creds := map[string]string{
		"TOKEN": "tok/with+odd=chars&\"<json>\"",
		"USER":  "robot@example.test",
		"PASS":  "pa55word-plain",
		"SHORT": "abc",
	}
	lookup := func(k string) ([]byte, bool) { v, ok := creds[k]; return []byte(v), ok }
	jsonOf := func(v string) string { b, _ := json.Marshal(v); return string(b[1 : len(b)-1]) }
	b64 := base64.StdEncoding.EncodeToString([]byte(creds["USER"] + ":" + creds["PASS"]))
	basic := &service.Service{RedactResponses: true, Auth: service.Auth{Type: service.AuthBasic, Username: "USER", Password: "PASS"}}
	bearer := &service.Service{RedactResponses: true, Auth: service.Auth{Type: service.AuthBearer, Token: "TOKEN"}}
	tests := []struct {
		name   string
		svc    *service.Service
		keys   []string
		inject map[string]string
		must   []string // each is replaced
		keep   []string // each passes
	}{
		{"bearer with odd characters", bearer, []string{"TOKEN"}, nil,
			[]string{creds["TOKEN"], url.QueryEscape(creds["TOKEN"]), url.PathEscape(creds["TOKEN"]), jsonOf(creds["TOKEN"]), `tok/with+odd=chars&\"<json>\"`}, nil},
		{"basic", basic, []string{"PASS", "USER"}, map[string]string{"Authorization": "Basic " + b64},
			[]string{b64, strings.TrimRight(b64, "="), creds["USER"], creds["PASS"], url.QueryEscape(creds["USER"])}, nil},
		{"short values are left alone", bearer, []string{"SHORT"}, nil, nil, []string{"abc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := redactionFor(tc.svc, tc.keys, lookup, tc.inject)
			for _, v := range tc.must {
				if got, n := set.String("x " + v + " y"); n != 1 || got != "x "+redact.Placeholder+" y" {
					t.Errorf("%q: %q (%d)", v, got, n)
				}
			}
			for _, v := range tc.keep {
				if _, n := set.String(v); n != 0 {
					t.Errorf("%q was redacted", v)
				}
			}
		})
	}
}

// jsonEscape writes a value as Go's encoding/json does with HTML
// escaping, and as JavaScript's JSON.stringify does without: quotes,
// backslashes, every control character (the short escapes \b and \f
// included), and with HTML escaping < > & and the line separators.
func TestJSONEscapeMatchesEncoders(t *testing.T) {
	v := "a\"b\\c\x00d\x01\be\ff\ng\rh\ti<j>k&l\u2028m\u2029né😀\x7f"
	var b strings.Builder
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	goJSON := strings.TrimSuffix(b.String(), "\n")
	goJSON = goJSON[1 : len(goJSON)-1]
	jsJSON := `a\"b\\c\u0000d\u0001\be\ff\ng\rh\ti<j>k&l` + "\u2028m\u2029né😀\x7f"
	for html, want := range map[bool]string{true: goJSON, false: jsJSON} {
		if got := jsonEscape(v, html); got != want {
			t.Errorf("html %v:\n got %q\nwant %q", html, got, want)
		}
	}
}

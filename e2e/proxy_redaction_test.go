package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The real binary redacts an echoed credential from the response header
// and body, counts it in /metrics, and a user's `redact_responses: false`
// in a service file (binary downloads) turns that off.
func TestProxyRedactsEchoedCredentials(t *testing.T) {
	t.Parallel()
	const placeholder = "[agent-vault:redacted]"
	maddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "you sent: "+r.Header.Get("Authorization"))
	})
	b, up, tok := pxSetup(t, pxOpts{args: []string{"--metrics-addr", maddr}}, echo)
	get := func() (string, string) {
		resp, err := b.client(tok, "default", false).Get(up.url() + "/debug/echo")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("X-Echo"), string(body)
	}
	hdr, body := get()
	if hdr != "Bearer "+placeholder || body != "you sent: Bearer "+placeholder {
		t.Fatalf("the agent read header %q, body %q", hdr, body)
	}
	b.recordClient(hdr + body)
	mtWait(t, maddr, "body redactions", ge(1), "agent_vault_proxy_redactions_total", `surface="body"`)
	mtWait(t, maddr, "header redactions", ge(1), "agent_vault_proxy_redactions_total", `surface="header"`)

	// A user opts the service out: the echo comes back as sent.
	b.services("", `services:
  - name: api
    host: localhost:`+strconv.Itoa(up.port)+`
    auth: {type: bearer, token: API_KEY}
    redact_responses: false
`)
	out := b.owner.ok("", "vault", "service", "list")
	if !strings.Contains(out, "redact_responses: false") {
		t.Errorf("service list does not show the opt-out:\n%s", out)
	}
	if _, body := get(); body != "you sent: Bearer "+pxAPIKey {
		t.Fatalf("opted-out service: body %q", body)
	}
	// `service add` without the flag turns it back on; with it, off.
	svcFlags := []string{"vault", "service", "add", "--name", "api", "--host", "localhost:" + strconv.Itoa(up.port), "--auth", "bearer", "--token", "API_KEY"}
	b.owner.ok("", svcFlags...)
	if _, body := get(); body != "you sent: Bearer "+placeholder {
		t.Fatalf("service add without --no-redact-responses: body %q", body)
	}
	b.owner.ok("", append(svcFlags, "--no-redact-responses")...)
	if _, body := get(); body != "you sent: Bearer "+pxAPIKey {
		t.Fatalf("service add --no-redact-responses: body %q", body)
	}
}

package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// The reason phrase of a refused CONNECT carries the message and the fix,
// and nothing a client could read as another header or line: printable
// ASCII only, bounded.
func TestReasonPhrase(t *testing.T) {
	for _, c := range []struct {
		e    *brokerError
		want string
	}{
		{fail(http.StatusForbidden, "forbidden", "vault \"x\" not found", "list your vaults"),
			`Forbidden: vault "x" not found (fix: list your vaults)`},
		{fail(http.StatusBadGateway, "upstream_unreachable", "could not reach a.test\r\nSet-Cookie: x=1", ""),
			"Bad Gateway: could not reach a.test??Set-Cookie: x=1"},
		{fail(http.StatusBadRequest, "bad_request", "invalid port in é:1", ""), "Bad Request: invalid port in ??:1"},
		{fail(599, "x", "", ""), "Error"},
	} {
		if got := reasonPhrase(c.e); got != c.want {
			t.Errorf("reasonPhrase = %q, want %q", got, c.want)
		}
	}
	long := reasonPhrase(fail(http.StatusForbidden, "forbidden", strings.Repeat("a", 5000), "fix"))
	if len(long) != maxReason || !strings.HasSuffix(long, "...") {
		t.Errorf("a long reason is %d bytes, want %d ending in ...", len(long), maxReason)
	}
}

func FuzzReasonPhrase(f *testing.F) {
	f.Add("could not reach x", "check the host", 502)
	f.Add("a\r\nb\x00\u202e", "\n", 403)
	f.Fuzz(func(t *testing.T, msg, help string, status int) {
		got := reasonPhrase(fail(status, "x", msg, help))
		if len(got) > maxReason || got == "" {
			t.Fatalf("reason of %d bytes", len(got))
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] > 0x7e {
				t.Fatalf("byte %#x in the reason phrase %q", got[i], got)
			}
		}
	})
}

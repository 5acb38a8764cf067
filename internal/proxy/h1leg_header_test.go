package proxy

import (
	"net/http"
	"testing"
)

// The fast HTTP/1.1 leg writes requests with Request.Write, which would
// turn a line break in a field value into a space and send it: it must
// refuse what http.Transport refuses instead, so that no value (an
// injected credential, a substituted one) can add a header line or
// arrive changed.
func TestFastLegRefusesInvalidHeaderFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		ok   bool
	}{
		{"plain", http.Header{"Authorization": {"Bearer sk_live_abc"}, "X-Tab": {"a\tb"}}, true},
		{"line feed in a value", http.Header{"Authorization": {"Bearer x\nX-Injected: 1"}}, false},
		{"carriage return in a value", http.Header{"X-Key": {"x\r"}}, false},
		{"NUL in a value", http.Header{"X-Key": {"x\x00y"}}, false},
		{"DEL in a value", http.Header{"X-Key": {"x\x7f"}}, false},
		{"space in a name", http.Header{"X Key": {"v"}}, false},
		{"colon in a name", http.Header{"X-Key:": {"v"}}, false},
		{"empty name", http.Header{"": {"v"}}, false},
	} {
		if err := validHeader(tc.h); (err == nil) != tc.ok {
			t.Errorf("%s: validHeader = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
)

// FuzzDecode feeds arbitrary bodies to the request decoder: it must never
// panic and must fail only with a 400 or 413 kind.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"email":"a@b.co","password":"x"}`, `{"email":5}`, `[`, `{} {}`, ``, `null`, `{"vaults":[{"vault_name":1}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<16)
		var in apitype.InviteRequest
		err := decode(r, &in)
		if err == nil {
			return
		}
		if k := errs.KindOf(err); k != errs.KindInvalid && k != errs.KindTooLarge {
			t.Fatalf("decode(%q) kind %v: %v", body, k, err)
		}
	})
}

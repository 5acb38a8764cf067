package service

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// BenchmarkRender measures Auth.Render, the header injection the proxy
// runs on every matched request, for each auth type that injects.
func BenchmarkRender(b *testing.B) {
	creds := map[string][]byte{
		"API_KEY":  []byte("sk_live_0123456789abcdef0123456789abcdef"),
		"USER":     []byte("deploy-bot"),
		"PASSWORD": []byte("correct horse battery staple"),
		"ORG_ID":   []byte("org_42"),
	}
	lookup := func(k string) ([]byte, bool) { v, ok := creds[k]; return v, ok }
	cases := []struct {
		name string
		auth apitype.ServiceAuth
	}{
		{"bearer", apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}},
		{"basic", apitype.ServiceAuth{Type: "basic", Username: "USER", Password: "PASSWORD"}},
		{"api-key", apitype.ServiceAuth{Type: "api-key", Key: "API_KEY", Header: "X-Api-Key", Prefix: "Token "}},
		{"custom", apitype.ServiceAuth{Type: "custom", Headers: map[string]string{
			"Authorization":  "Bearer {{ API_KEY }}",
			"X-Organization": "{{ORG_ID}}",
		}}},
	}
	for _, c := range cases {
		a, err := AuthFromAPI(c.auth, "auth")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			h, missing, err := a.Render(lookup)
			if err != nil || missing != "" || len(h) == 0 {
				b.Fatalf("Render: %v %q %v", h, missing, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				h, _, _ = a.Render(lookup)
			}
			_ = h
		})
	}
}

package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// An Origin is compared with ASCII letters folded only: a look-alike
// that Unicode case mapping folds onto the server's own origin (the
// Kelvin sign onto "k") is a foreign origin.
func TestOriginFoldsASCIIOnly(t *testing.T) {
	h := New(Options{BaseURL: "https://kv.example"})
	r := httptest.NewRequest(http.MethodPost, "https://kv.example/login", nil)
	for origin, want := range map[string]bool{
		"https://kv.example":        true,
		"HTTPS://KV.Example/":       true,
		"https://\u212Av.example":   false,
		"https://kv.exampl\u0130":   false,
		"https://evil.example":      false,
		"https://kv.example.evil.a": false,
	} {
		if got := h.allowedOrigin(r, origin); got != want {
			t.Errorf("allowedOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}

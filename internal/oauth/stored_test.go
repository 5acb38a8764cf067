package oauth

import "testing"

// disable_pkce is part of the sealed document: it survives a round trip,
// and a document written before it was set (no field) reads as PKCE on.
func TestStoredKeepsDisablePKCE(t *testing.T) {
	old := []byte(`{"v":1,"grant":"authorization_code","token_url":"https://idp.example/token","client_id":"app","status":"connected","access_token":"a"}`)
	s, err := ParseStored(old)
	if err != nil || s.DisablePKCE || s.ClientID != "app" {
		t.Fatalf("a document without disable_pkce: %+v %v", s.Status, err)
	}
	s.DisablePKCE = true
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseStored(b)
	if err != nil || !back.DisablePKCE {
		t.Fatalf("disable_pkce did not survive a round trip: %v", err)
	}
}

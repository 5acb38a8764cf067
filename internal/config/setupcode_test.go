package config

import (
	"os"
	"testing"
)

// The CLI sends the code in its data dir only to the server that wrote
// it: an address elsewhere (a remote server, another port) must not
// receive a local code, and a file others could have written or read is
// ignored.
func TestSetupCodeFor(t *testing.T) {
	for _, tc := range []struct {
		name, listen, base, addr string
		want                     bool
	}{
		{"same loopback", "127.0.0.1:14321", "http://127.0.0.1:14321", "http://127.0.0.1:14321", true},
		{"localhost for 127.0.0.1", "127.0.0.1:14321", "http://127.0.0.1:14321", "http://localhost:14321", true},
		{"loopback to every address", "[::]:8080", "http://[::]:8080", "http://127.0.0.1:8080", true},
		{"the external URL", "0.0.0.0:14321", "https://vault.example.com", "https://vault.example.com:443", true},
		{"another port", "127.0.0.1:14321", "http://127.0.0.1:14321", "http://127.0.0.1:14322", false},
		{"a remote server on the same port", "127.0.0.1:14321", "http://127.0.0.1:14321", "http://evil.example:14321", false},
		{"https on the listen port", "127.0.0.1:14321", "http://127.0.0.1:14321", "https://127.0.0.1:14321", false},
		{"a server on one interface, asked on loopback", "192.0.2.7:14321", "http://192.0.2.7:14321", "http://127.0.0.1:14321", false},
		{"not a URL", "127.0.0.1:14321", "", "::::", false},
	} {
		dir := t.TempDir()
		if err := WriteSetupCode(dir, SetupCodeFile{Code: "ABCDE-FGHJK-MNPQR-STUVW", Listen: tc.listen, BaseURL: tc.base}); err != nil {
			t.Fatal(err)
		}
		code, ok := SetupCodeFor(dir, tc.addr)
		if ok != tc.want || (ok && code != "ABCDE-FGHJK-MNPQR-STUVW") {
			t.Errorf("%s: %q, %v; want %v", tc.name, code, ok, tc.want)
		}
	}
	dir := t.TempDir()
	if _, ok := SetupCodeFor(dir, "http://127.0.0.1:14321"); ok {
		t.Error("a code without a file")
	}
	if err := WriteSetupCode(dir, SetupCodeFile{Code: "ABCDE-FGHJK-MNPQR-STUVW", Listen: "127.0.0.1:14321"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(SetupCodePath(dir), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := SetupCodeFor(dir, "http://127.0.0.1:14321"); ok {
		t.Error("a code from a file others can read")
	}
	if err := RemoveSetupCode(dir); err != nil {
		t.Fatal(err)
	}
	if err := RemoveSetupCode(dir); err != nil {
		t.Errorf("removing a missing file: %v", err)
	}
}

package proxy

import (
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/service"
)

// Host names are folded one way everywhere (ASCII letters only), so the
// proxy's target, the service match that decides which credential goes,
// and the certificate the proxy mints always agree. A Unicode look-alike
// that Unicode case mapping would fold onto a service's host (the Kelvin
// sign onto "k", the Turkish dotted İ onto "i", the long ſ onto "s") is
// refused by the proxy and the CA and matched by no service.
func TestHostFoldingIsOneWay(t *testing.T) {
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := ca.NewRoot(kr, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	minter, err := ca.NewMinter(root, ca.MinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, host string
		pattern    string // a service's host pattern
		target     string // the proxy's target host; "" = refused
		match      bool   // the service matches the request
	}{
		{"ASCII capitals fold", "API.Example.COM", "api.example.com", "api.example.com", true},
		{"a trailing dot is dropped", "api.example.com.", "api.example.com", "api.example.com", true},
		{"wildcard with capitals", "EU.Api.Example.com", "*.api.example.com", "eu.api.example.com", true},
		{"Kelvin sign is not k", "\u212Aey.example.com", "key.example.com", "", false},
		{"Turkish dotted capital I is not i", "ap\u0130.example.com", "api.example.com", "", false},
		{"Turkish dotless i is not i", "ap\u0131.example.com", "api.example.com", "", false},
		{"long s is not s", "\u017Fecure.example.com", "secure.example.com", "", false},
		{"fullwidth letters are not letters", "\uFF41pi.example.com", "api.example.com", "", false},
		{"an IDNA A-label passes as ASCII", "XN--BCHER-KVA.example", "xn--bcher-kva.example", "xn--bcher-kva.example", true},
		{"a U-label is refused, not converted", "b\u00fccher.example", "xn--bcher-kva.example", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := splitTarget(c.host+":443", "https")
			if c.target == "" {
				if err == nil {
					t.Fatalf("the proxy took %q as target %q", c.host, got)
				}
			} else if err != nil || got != c.target {
				t.Fatalf("proxy target of %q = %q, %v; want %q", c.host, got, err, c.target)
			}
			p, err := service.ParsePattern(c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if m := p.MatchesHost(c.host, 443); m != c.match {
				t.Errorf("pattern %s matches raw %q: %v, want %v", c.pattern, c.host, m, c.match)
			}
			leaf, err := minter.Leaf(c.host)
			if c.target == "" {
				if err == nil {
					t.Errorf("the CA minted a certificate for %q: %v", c.host, leaf.Leaf.DNSNames)
				}
				return
			}
			if err != nil || len(leaf.Leaf.DNSNames) != 1 || leaf.Leaf.DNSNames[0] != c.target {
				t.Errorf("the CA's name for %q is %v (%v), want %q", c.host, leaf.Leaf.DNSNames, err, c.target)
			}
		})
	}
}

package daemon

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// Without an operator bundle the proxy gets no pool of its own (crypto/tls
// then uses the system roots, loaded on the first upstream handshake, not
// at start-up); with one, the bundle's CA verifies upstream leaves; an
// unreadable or empty bundle is an error.
func TestUpstreamRoots(t *testing.T) {
	if pool, err := upstreamRoots(""); err != nil || pool != nil {
		t.Fatalf("no bundle: pool %v, err %v; want nil, nil", pool, err)
	}

	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	root, stored, err := ca.NewRoot(kr, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	minter, err := ca.NewMinter(root, ca.MinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := minter.Leaf("upstream.example")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(leaf.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(bundle, stored.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := upstreamRoots(bundle)
	if err != nil || pool == nil {
		t.Fatalf("bundle: pool %v, err %v", pool, err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "upstream.example"}); err != nil {
		t.Fatalf("a leaf of the bundle's CA does not verify: %v", err)
	}

	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{empty, filepath.Join(dir, "missing.pem")} {
		if _, err := upstreamRoots(f); err == nil {
			t.Errorf("bundle %s: no error", filepath.Base(f))
		}
	}
}

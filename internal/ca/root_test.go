package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
)

func newKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF) // passwordless: no Argon2id
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newRoot(t testing.TB) (*Root, Stored, *keyring.Keyring) {
	t.Helper()
	kr := newKeyring(t)
	r, st, err := NewRoot(kr, t0)
	if err != nil {
		t.Fatal(err)
	}
	return r, st, kr
}

func TestNewRootCertificate(t *testing.T) {
	r, st, _ := newRoot(t)
	c := r.Cert()
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA basics: IsCA=%v valid=%v maxPathLen=%d zero=%v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature; c.KeyUsage != want {
		t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
	}
	if !strings.HasPrefix(c.Subject.CommonName, "Agent Vault Local CA ") || len(c.Subject.CommonName) <= len("Agent Vault Local CA ") {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	if len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "Agent Vault" {
		t.Errorf("O = %v", c.Subject.Organization)
	}
	if !c.NotBefore.Equal(t0.Add(-time.Hour)) || !c.NotAfter.Equal(t0.AddDate(10, 0, 0)) {
		t.Errorf("validity %s .. %s", c.NotBefore, c.NotAfter)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if len(c.SubjectKeyId) != 20 {
		t.Errorf("SubjectKeyId = %x", c.SubjectKeyId)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v", c.SerialNumber)
	}
	if len(c.PermittedDNSDomains) != 0 || c.PermittedDNSDomainsCritical {
		t.Errorf("name constraints are on by default: %v", c.PermittedDNSDomains)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if !bytes.Equal(st.CertPEM, r.CertPEM()) {
		t.Error("Stored.CertPEM differs from CertPEM()")
	}
	if bytes.Contains(st.SealedKey, []byte("PRIVATE")) || len(st.SealedKey) < 100 {
		t.Errorf("SealedKey does not look sealed (%d bytes)", len(st.SealedKey))
	}
	// Two roots are distinct CAs.
	r2, _, _ := newRoot(t)
	if r2.Cert().Subject.CommonName == c.Subject.CommonName || r2.Cert().SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two roots share a name or serial")
	}
}

func TestRootRoundTrip(t *testing.T) {
	r, st, kr := newRoot(t)
	got, err := LoadRoot(kr, st)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Cert().Raw, r.Cert().Raw) || !bytes.Equal(got.CertPEM(), r.CertPEM()) {
		t.Fatal("loaded root has another certificate")
	}
	// The loaded key works: a leaf it signs verifies against the original root.
	m, err := NewMinter(got, MinterOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := m.Leaf("a.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "a.example", Roots: r.CertPool(), CurrentTime: t0}); err != nil {
		t.Fatalf("leaf signed by the loaded key does not verify: %v", err)
	}
}

func TestLoadRootFailures(t *testing.T) {
	_, st, kr := newRoot(t)
	_, st2, kr2 := newRoot(t)

	if _, err := LoadRoot(newKeyring(t), st); !errors.Is(err, keyring.ErrDecrypt) {
		t.Errorf("another keyring: err = %v, want ErrDecrypt", err)
	}

	tampered := st
	tampered.SealedKey = append([]byte(nil), st.SealedKey...)
	tampered.SealedKey[len(tampered.SealedKey)/2] ^= 1
	if _, err := LoadRoot(kr, tampered); !errors.Is(err, keyring.ErrDecrypt) {
		t.Errorf("tampered key: err = %v, want ErrDecrypt", err)
	}

	// A sealed key under another row's associated data does not open.
	pt := secret.FromString("not a key")
	other, err := kr.Seal(pt, keyring.AD("ca", "root", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRoot(kr, Stored{CertPEM: st.CertPEM, SealedKey: other}); !errors.Is(err, keyring.ErrDecrypt) {
		t.Errorf("wrong AD: err = %v, want ErrDecrypt", err)
	}

	// Certificate of one root, key of another (resealed under this keyring).
	key2, err := kr2.Open(st2.SealedKey, rootKeyAD)
	if err != nil {
		t.Fatal(err)
	}
	sealed2, err := kr.Seal(key2, rootKeyAD)
	if err != nil {
		t.Fatal(err)
	}
	mixed := Stored{CertPEM: st.CertPEM, SealedKey: sealed2}
	if _, err := LoadRoot(kr, mixed); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched key: err = %v, want ErrKeyMismatch", err)
	}

	for name, pemBytes := range map[string][]byte{
		"empty":    nil,
		"garbage":  []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		"two":      append(append([]byte(nil), st.CertPEM...), st2.CertPEM...),
		"not cert": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		if _, err := LoadRoot(kr, Stored{CertPEM: pemBytes, SealedKey: st.SealedKey}); !errors.Is(err, ErrBadRoot) {
			t.Errorf("%s cert: err = %v, want ErrBadRoot", name, err)
		}
	}
	if _, err := LoadRoot(nil, st); err == nil {
		t.Error("nil keyring accepted")
	}
}

func TestNameConstrainedRoot(t *testing.T) {
	kr := newKeyring(t)
	r, st, err := NewRootWithOptions(kr, t0, RootOptions{PermittedDNSDomains: []string{"Example.COM", ".internal.test"}})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cert()
	if !c.PermittedDNSDomainsCritical || len(c.PermittedDNSDomains) != 2 || c.PermittedDNSDomains[0] != "example.com" {
		t.Fatalf("constraints %v critical=%v", c.PermittedDNSDomains, c.PermittedDNSDomainsCritical)
	}
	loaded, err := LoadRoot(kr, st)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMinter(loaded, MinterOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"example.com", "api.example.com", "a.internal.test", "127.0.0.1"} {
		leaf, err := m.Leaf(h)
		if err != nil {
			t.Errorf("Leaf(%q): %v", h, err)
			continue
		}
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: r.CertPool(), CurrentTime: t0}); err != nil {
			t.Errorf("Leaf(%q) does not verify: %v", h, err)
		}
	}
	for _, h := range []string{"evil.com", "example.com.evil", "internal.test", "notexample.com"} {
		if _, err := m.Leaf(h); !errors.Is(err, ErrNotPermitted) {
			t.Errorf("Leaf(%q): err = %v, want ErrNotPermitted", h, err)
		}
	}
	if _, err := NewMinter(loaded, MinterOptions{ExtraSANs: []string{"vault.other"}}); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("extra SAN outside constraints: err = %v", err)
	}
	if _, _, err := NewRootWithOptions(kr, t0, RootOptions{PermittedDNSDomains: []string{"bad domain"}}); err == nil {
		t.Error("invalid constraint accepted")
	}
}

func TestRootFormatHidesKey(t *testing.T) {
	r, _, _ := newRoot(t)
	for _, s := range []string{fmt.Sprintf("%v", r), fmt.Sprintf("%+v", *r), fmt.Sprintf("%#v", *r)} {
		if !strings.HasPrefix(s, "ca.Root{subject:") || strings.Contains(s, "D:") {
			t.Errorf("format = %q", s)
		}
	}
}

// Package ca owns the broker's root CA and the leaf certificates it mints for
// intercepted hosts.
//
// The root is an ECDSA P-256 self-signed CA valid for ten years. Its private
// key is stored sealed with the keyring's DEK (Stored), so the same CA comes
// back after a restart and the key is never at rest in clear. A Minter issues
// short-lived leaf certificates per host from it, caches them in a bounded
// LRU and serves them through one shared *tls.Config, so TLS session
// resumption works across connections.
package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// Errors callers act on.
var (
	// ErrKeyMismatch means the stored private key is not the key of the
	// stored certificate.
	ErrKeyMismatch = errors.New("ca: the root key does not match the root certificate")
	// ErrBadRoot means the stored root certificate is malformed or not a CA.
	ErrBadRoot = errors.New("ca: the stored root certificate is invalid")
)

// rootKeyAD binds the sealed root key to its row.
var rootKeyAD = keyring.AD("ca", "root", "v1")

// Stored is what the store persists for the root CA: the certificate in PEM
// and the PKCS #8 private key sealed with the keyring under
// keyring.AD("ca", "root", "v1"). Neither field is secret in clear.
type Stored struct {
	CertPEM   []byte
	SealedKey []byte
}

// RootOptions tune NewRootWithOptions.
type RootOptions struct {
	// PermittedDNSDomains, when non-empty, name-constrains the root (critical
	// extension): leaves verify only for these domains and their subdomains
	// (a leading dot means subdomains only). Off by default, because a MITM
	// CA must sign whatever host an agent talks to; use it for deployments
	// whose agents may reach a fixed set of domains. It constrains DNS names
	// only: IP-address SANs stay unconstrained.
	PermittedDNSDomains []string
}

// Root is the loaded root CA: its certificate and private key.
type Root struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// NewRoot creates a root CA without name constraints (see
// NewRootWithOptions) and returns it with its stored form.
func NewRoot(kr *keyring.Keyring, now time.Time) (*Root, Stored, error) {
	return NewRootWithOptions(kr, now, RootOptions{})
}

// NewRootWithOptions creates an ECDSA P-256 key and a self-signed CA
// certificate "Agent Vault Local CA <id>" valid from now-1h to now+10y that
// may sign leaves only (path length 0). The returned Stored holds the key
// sealed with kr.
func NewRootWithOptions(kr *keyring.Keyring, now time.Time, o RootOptions) (*Root, Stored, error) {
	if kr == nil {
		return nil, Stored{}, errors.New("ca: no keyring")
	}
	var permitted []string
	for _, d := range o.PermittedDNSDomains {
		c, err := canonicalConstraint(d)
		if err != nil {
			return nil, Stored{}, err
		}
		permitted = append(permitted, c)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, Stored{}, fmt.Errorf("ca: generate root key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, Stored{}, err
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, Stored{}, err
	}
	ski, err := subjectKeyID(&key.PublicKey)
	if err != nil {
		return nil, Stored{}, err
	}
	now = now.UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "Agent Vault Local CA " + hex.EncodeToString(id[:]),
			Organization: []string{"Agent Vault"},
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          ski,
	}
	if len(permitted) > 0 {
		tmpl.PermittedDNSDomains = permitted
		tmpl.PermittedDNSDomainsCritical = true
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, Stored{}, fmt.Errorf("ca: create root certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, Stored{}, fmt.Errorf("ca: parse root certificate: %w", err)
	}

	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, Stored{}, fmt.Errorf("ca: marshal root key: %w", err)
	}
	pt := secret.New(pkcs8)
	defer pt.Wipe()
	sealed, err := kr.Seal(pt, rootKeyAD)
	if err != nil {
		return nil, Stored{}, fmt.Errorf("ca: seal root key: %w", err)
	}

	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	r := &Root{cert: cert, certPEM: certPEM, key: key}
	return r, Stored{CertPEM: append([]byte(nil), certPEM...), SealedKey: sealed}, nil
}

// LoadRoot opens a stored root with kr. It fails when the key does not open
// (another keyring, tampered ciphertext), when the certificate is not a
// self-signed CA, or with ErrKeyMismatch when the key is not the
// certificate's.
func LoadRoot(kr *keyring.Keyring, st Stored) (*Root, error) {
	if kr == nil {
		return nil, errors.New("ca: no keyring")
	}
	block, rest := pem.Decode(st.CertPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w: want exactly one PEM CERTIFICATE block", ErrBadRoot)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRoot, err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("%w: not a CA certificate", ErrBadRoot)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("%w: not self-signed: %v", ErrBadRoot, err)
	}

	pt, err := kr.Open(st.SealedKey, rootKeyAD)
	if err != nil {
		return nil, fmt.Errorf("ca: open root key: %w", err)
	}
	defer pt.Wipe()
	parsed, err := x509.ParsePKCS8PrivateKey(pt.Reveal())
	if err != nil {
		return nil, fmt.Errorf("ca: parse root key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("ca: root key is not ECDSA P-256")
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, ErrKeyMismatch
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	return &Root{cert: cert, certPEM: certPEM, key: key}, nil
}

// CertPEM returns a copy of the root certificate in PEM, the file agents
// install as a trusted CA.
func (r *Root) CertPEM() []byte { return append([]byte(nil), r.certPEM...) }

// Cert returns the parsed root certificate. It is shared: do not modify it.
func (r *Root) Cert() *x509.Certificate { return r.cert }

// CertPool returns a new pool holding only the root certificate, for clients
// (and tests) that trust this CA.
func (r *Root) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(r.cert)
	return p
}

// Format never prints key material, whatever the verb.
func (r Root) Format(f fmt.State, _ rune) {
	if r.cert == nil {
		_, _ = f.Write([]byte("ca.Root{}"))
		return
	}
	fmt.Fprintf(f, "ca.Root{subject:%q notAfter:%s}", r.cert.Subject.CommonName, r.cert.NotAfter.Format(time.RFC3339))
}

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("ca: serial: %w", err)
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is the leftmost 160 bits of the SHA-256 of the public key bit
// string (RFC 7093, method 1).
func subjectKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	raw, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ca: public key: %w", err)
	}
	sum := sha256.Sum256(raw)
	return sum[:20], nil
}

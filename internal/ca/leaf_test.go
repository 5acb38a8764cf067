package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// clock is a settable fake time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newMinter(t testing.TB, o MinterOptions) (*Minter, *Root) {
	t.Helper()
	r, _, _ := newRoot(t)
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	m, err := NewMinter(r, o)
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

func TestLeafVerifies(t *testing.T) {
	m, r := newMinter(t, MinterOptions{ExtraSANs: []string{"vault.local", "127.0.0.1", "VAULT.local."}})
	for _, tc := range []struct{ host, verifyAs string }{
		{"api.example.com", "api.example.com"},
		{"API.Example.COM.", "api.example.com"},
		{"10.1.2.3", "10.1.2.3"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"2001:DB8:0::1", "2001:db8::1"},
	} {
		cert, err := m.Leaf(tc.host)
		if err != nil {
			t.Fatalf("Leaf(%q): %v", tc.host, err)
		}
		leaf := cert.Leaf
		if leaf == nil || len(cert.Certificate) != 2 || !slices.Equal(cert.Certificate[1], r.Cert().Raw) {
			t.Fatalf("Leaf(%q): chain is not [leaf, root]", tc.host)
		}
		if _, err := x509.ParseCertificate(cert.Certificate[0]); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{tc.verifyAs, "vault.local", "127.0.0.1"} {
			_, err := leaf.Verify(x509.VerifyOptions{
				DNSName: name, Roots: r.CertPool(), CurrentTime: t0,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Errorf("Leaf(%q) does not verify for %q: %v", tc.host, name, err)
			}
		}
		if err := leaf.VerifyHostname("other.example"); err == nil {
			t.Errorf("Leaf(%q) verifies for an unrelated host", tc.host)
		}
		if leaf.IsCA || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
			t.Errorf("Leaf(%q): IsCA=%v EKU=%v", tc.host, leaf.IsCA, leaf.ExtKeyUsage)
		}
		if !leaf.NotBefore.Equal(t0.Add(-time.Hour)) || !leaf.NotAfter.Equal(t0.Add(DefaultLeafValidity)) {
			t.Errorf("Leaf(%q) validity %s .. %s", tc.host, leaf.NotBefore, leaf.NotAfter)
		}
		pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
		priv, ok2 := cert.PrivateKey.(*ecdsa.PrivateKey)
		if !ok || !ok2 || pub.Curve != elliptic.P256() || !priv.PublicKey.Equal(pub) {
			t.Errorf("Leaf(%q): key %T/%T is not a matching P-256 pair", tc.host, leaf.PublicKey, cert.PrivateKey)
		}
		if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() > 128 {
			t.Errorf("serial %v", leaf.SerialNumber)
		}
		if n := len(leaf.DNSNames) + len(leaf.IPAddresses); n != 3 {
			t.Errorf("Leaf(%q): SANs %v %v, want host + 2 distinct extras", tc.host, leaf.DNSNames, leaf.IPAddresses)
		}
	}
	// Case, trailing dot and IPv6 spelling share cache entries.
	if s := m.Stats(); s.Mints != 3 || s.Hits != 2 {
		t.Errorf("stats %+v, want 3 mints and 2 hits", s)
	}
	// An extra SAN equal to the host is not repeated.
	cert, err := m.Leaf("vault.local")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cert.Leaf.DNSNames, []string{"vault.local"}) || len(cert.Leaf.IPAddresses) != 1 || !cert.Leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("SANs %v %v", cert.Leaf.DNSNames, cert.Leaf.IPAddresses)
	}
}

func TestLeafRejectsBadHosts(t *testing.T) {
	m, _ := newMinter(t, MinterOptions{})
	for _, h := range []string{"", "*.example.com", "a..b", "-a.example", "a b", "fe80::1%eth0", "[1.2.3.4]", "host:443", "é.example", string(make([]byte, 300))} {
		if _, err := m.Leaf(h); !errors.Is(err, ErrInvalidHost) {
			t.Errorf("Leaf(%q): err = %v, want ErrInvalidHost", h, err)
		}
	}
	if s := m.Stats(); s.Mints != 0 {
		t.Errorf("minted for invalid hosts: %+v", s)
	}
	if _, err := NewMinter(m.root, MinterOptions{ExtraSANs: []string{"bad host"}}); !errors.Is(err, ErrInvalidHost) {
		t.Errorf("bad extra SAN: err = %v", err)
	}
	if _, err := NewMinter(m.root, MinterOptions{Validity: 30 * time.Minute}); err == nil {
		t.Error("validity shorter than RenewBefore accepted")
	}
	if _, err := NewMinter(nil, MinterOptions{}); err == nil {
		t.Error("nil root accepted")
	}
}

func TestLeafConcurrentFirstRequestsMintOnce(t *testing.T) {
	m, _ := newMinter(t, MinterOptions{})
	const n = 64
	// Hold the single mint until every other request is waiting on it, so
	// the test proves de-duplication rather than getting lucky with timing.
	m.testHookMint = func(string) {
		deadline := time.Now().Add(10 * time.Second)
		for m.Stats().Shared < n-1 {
			if time.Now().After(deadline) {
				t.Errorf("only %d requests joined the in-flight mint", m.Stats().Shared)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	certs := make([]any, n)
	for i := range n {
		wg.Go(func() {
			<-start
			c, err := m.Leaf("a.example")
			if err != nil {
				t.Error(err)
			}
			certs[i] = c
		})
	}
	close(start)
	wg.Wait()
	if s := m.Stats(); s.Mints != 1 || s.Shared != n-1 || s.Entries != 1 {
		t.Errorf("stats %+v, want exactly 1 mint and %d shared", s, n-1)
	}
	for i := range certs {
		if certs[i] != certs[0] || certs[i] == nil {
			t.Fatalf("request %d got another certificate", i)
		}
	}
}

func TestLeafDifferentHostsMintConcurrently(t *testing.T) {
	m, _ := newMinter(t, MinterOptions{})
	// Each mint waits, inside the minting path, until all hosts are
	// minting at once. If minting held a global lock this would time out.
	hosts := []string{"a.example", "b.example", "c.example", "d.example"}
	var arrived sync.WaitGroup
	arrived.Add(len(hosts))
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	m.testHookMint = func(string) {
		arrived.Done()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			t.Error("mints of different hosts did not run concurrently")
		}
	}
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Go(func() {
			if _, err := m.Leaf(h); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if s := m.Stats(); s.Mints != uint64(len(hosts)) {
		t.Errorf("stats %+v", s)
	}
	// Cache hits are served while another host is minting.
	block := make(chan struct{})
	m.testHookMint = func(string) { <-block }
	go func() { _, _ = m.Leaf("slow.example") }()
	for len(m.inflightHosts()) == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { _, _ = m.Leaf("a.example"); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("a cache hit waited for another host's mint")
	}
	close(block)
}

func (m *Minter) inflightHosts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var hs []string
	for h := range m.inflight {
		hs = append(hs, h)
	}
	return hs
}

func TestLeafLRU(t *testing.T) {
	m, _ := newMinter(t, MinterOptions{MaxEntries: 2})
	get := func(h string) *x509.Certificate {
		t.Helper()
		c, err := m.Leaf(h)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf
	}
	a1 := get("a")
	get("b")
	get("c") // evicts a
	if s := m.Stats(); s.Mints != 3 || s.Evictions != 1 || s.Entries != 2 {
		t.Fatalf("stats %+v", s)
	}
	a2 := get("a") // re-minted, evicts b
	if a2.SerialNumber.Cmp(a1.SerialNumber) == 0 {
		t.Error("evicted leaf came back from the cache")
	}
	get("c") // hit; now c is most recent, a next
	get("d") // evicts a
	get("c") // hit
	if s := m.Stats(); s.Mints != 5 || s.Hits != 2 || s.Evictions != 3 || s.Entries != 2 {
		t.Errorf("stats %+v, want 5 mints, 2 hits, 3 evictions", s)
	}
}

func TestLeafReMintedNearExpiry(t *testing.T) {
	clk := &clock{t: t0}
	m, r := newMinter(t, MinterOptions{Now: clk.Now, Validity: 24 * time.Hour})
	first, err := m.Leaf("a.example")
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(22*time.Hour + 59*time.Minute)) // 61 min left: still served
	if c, _ := m.Leaf("a.example"); c != first {
		t.Error("leaf re-minted too early")
	}
	clk.Set(t0.Add(23*time.Hour + time.Minute)) // 59 min left: re-minted
	second, err := m.Leaf("a.example")
	if err != nil {
		t.Fatal(err)
	}
	if second == first || !second.Leaf.NotAfter.Equal(clk.Now().Add(24*time.Hour)) {
		t.Errorf("leaf not re-minted near expiry (NotAfter %s)", second.Leaf.NotAfter)
	}
	if s := m.Stats(); s.Mints != 2 || s.Hits != 1 || s.Entries != 1 {
		t.Errorf("stats %+v", s)
	}

	// A leaf never outlives the root, and a root about to expire issues none.
	rootEnd := r.Cert().NotAfter
	clk.Set(rootEnd.Add(-3 * time.Hour))
	c, err := m.Leaf("late.example")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Leaf.NotAfter.Equal(rootEnd) {
		t.Errorf("leaf NotAfter %s, root NotAfter %s", c.Leaf.NotAfter, rootEnd)
	}
	clk.Set(rootEnd.Add(-30 * time.Minute))
	if _, err := m.Leaf("later.example"); !errors.Is(err, ErrRootExpiring) {
		t.Errorf("err = %v, want ErrRootExpiring", err)
	}
	// Errors are not cached: nothing is stored and the next call tries again.
	if _, err := m.Leaf("later.example"); !errors.Is(err, ErrRootExpiring) {
		t.Errorf("err = %v, want ErrRootExpiring", err)
	}
	// Before the root's NotBefore-ish: leaf NotBefore is clamped to the root's.
	clk.Set(r.Cert().NotBefore.Add(10 * time.Minute))
	c, err = m.Leaf("early.example")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Leaf.NotBefore.Equal(r.Cert().NotBefore) {
		t.Errorf("leaf NotBefore %s, root NotBefore %s", c.Leaf.NotBefore, r.Cert().NotBefore)
	}
}

func TestLeafPanicReleasesWaiters(t *testing.T) {
	m, _ := newMinter(t, MinterOptions{})
	m.testHookMint = func(string) {
		for m.Stats().Shared < 1 {
			time.Sleep(time.Millisecond)
		}
		panic("boom")
	}
	waiter := make(chan error, 1)
	go func() {
		defer func() { _ = recover() }()
		_, _ = m.Leaf("p.example")
	}()
	go func() {
		for len(m.inflightHosts()) == 0 {
			time.Sleep(time.Millisecond)
		}
		_, err := m.Leaf("p.example")
		waiter <- err
	}()
	select {
	case err := <-waiter:
		if !errors.Is(err, errMintPanicked) {
			t.Errorf("waiter err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter hung after the mint panicked")
	}
	m.testHookMint = nil
	if _, err := m.Leaf("p.example"); err != nil {
		t.Errorf("after a panic: %v", err)
	}
}

func ExampleMinter_Leaf() {
	kr, _, _ := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	root, stored, _ := NewRoot(kr, time.Now())
	_ = stored // persist it; LoadRoot(kr, stored) brings the same CA back
	m, _ := NewMinter(root, MinterOptions{ExtraSANs: []string{"127.0.0.1"}})
	cert, _ := m.Leaf("api.example.com")
	fmt.Println(cert.Leaf.DNSNames, cert.Leaf.IPAddresses)
	// Output: [api.example.com] [127.0.0.1]
}

package ca

import (
	"container/list"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Leaf defaults and limits.
const (
	// DefaultMaxEntries bounds the leaf cache when MinterOptions.MaxEntries
	// is zero.
	DefaultMaxEntries = 1024
	// DefaultLeafValidity is a leaf's lifetime when MinterOptions.Validity
	// is zero.
	DefaultLeafValidity = 7 * 24 * time.Hour
	// RenewBefore is how close to its NotAfter a cached leaf is re-minted.
	RenewBefore = time.Hour
	// leafBackdate absorbs clock skew between the broker and its agents.
	leafBackdate = time.Hour
)

var (
	// ErrNotPermitted means the root is name-constrained and the host lies
	// outside its permitted domains.
	ErrNotPermitted = errors.New("ca: host is outside the root CA's permitted domains")
	// ErrRootExpiring means the root CA is expired, or expires too soon
	// (within RenewBefore) to issue a useful leaf.
	ErrRootExpiring = errors.New("ca: the root CA is expired or about to expire")

	errMintPanicked = errors.New("ca: minting a leaf panicked")
)

// MinterOptions tune NewMinter. The zero value is usable.
type MinterOptions struct {
	// MaxEntries bounds the leaf cache (least recently used evicted first);
	// 0 means DefaultMaxEntries.
	MaxEntries int
	// ExtraSANs are added to every leaf, DNS names or IP literals: e.g. the
	// host of AGENT_VAULT_ADDR, so the broker's own address is covered too.
	ExtraSANs []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Validity is a leaf's lifetime; 0 means DefaultLeafValidity. It must
	// exceed RenewBefore. A leaf never outlives the root.
	Validity time.Duration
}

// Stats counts the Minter's work, for tests, benchmarks and metrics.
type Stats struct {
	Mints     uint64 // leaves generated successfully
	Hits      uint64 // requests answered from the cache
	Shared    uint64 // requests that waited for another request's mint of the same host
	Evictions uint64 // cache entries dropped to respect MaxEntries
	Entries   int    // leaves currently cached
}

// Minter mints leaf certificates for hosts, signed by a Root. It is safe for
// concurrent use.
//
// Each host is minted at most once at a time: concurrent first requests for
// one host wait for a single in-flight mint (per-host de-duplication, like
// singleflight), while different hosts mint in parallel, since no lock is
// held during key generation and signing. Leaves are cached in an LRU
// bounded by MaxEntries and re-minted when they expire within RenewBefore.
type Minter struct {
	root      *Root
	max       int
	now       func() time.Time
	validity  time.Duration
	extras    []string // canonical ExtraSANs, deduplicated
	permitted []string

	serverConfig *tls.Config

	mu       sync.Mutex
	lru      *list.List               // of *entry, most recent first
	entries  map[string]*list.Element // canonical host -> element of lru
	inflight map[string]*call         // canonical host -> mint under way
	stats    Stats

	// testHookMint, when set, runs in the minting goroutine before the key
	// is generated, with no lock held.
	testHookMint func(host string)
}

type entry struct {
	host     string
	cert     *tls.Certificate
	notAfter time.Time
}

// call is one in-flight mint; done closes when cert and err are final.
type call struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// NewMinter returns a Minter issuing leaves from root. It fails when an
// ExtraSAN is not a DNS name or IP literal, lies outside the root's name
// constraints, or when Validity does not exceed RenewBefore.
func NewMinter(root *Root, o MinterOptions) (*Minter, error) {
	if root == nil || root.cert == nil || root.key == nil {
		return nil, errors.New("ca: no root")
	}
	m := &Minter{
		root:      root,
		max:       o.MaxEntries,
		now:       o.Now,
		validity:  o.Validity,
		permitted: root.cert.PermittedDNSDomains,
		lru:       list.New(),
		entries:   map[string]*list.Element{},
		inflight:  map[string]*call{},
	}
	if m.max <= 0 {
		m.max = DefaultMaxEntries
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.validity == 0 {
		m.validity = DefaultLeafValidity
	}
	if m.validity <= RenewBefore {
		return nil, fmt.Errorf("ca: leaf validity %s must exceed %s", m.validity, RenewBefore)
	}
	for _, s := range o.ExtraSANs {
		h, err := canonicalHost(s)
		if err != nil {
			return nil, fmt.Errorf("ca: extra SAN: %w", err)
		}
		if hostIP(h) == nil && !permittedDNS(h, m.permitted) {
			return nil, fmt.Errorf("%w: extra SAN %q", ErrNotPermitted, s)
		}
		if !slices.Contains(m.extras, h) {
			m.extras = append(m.extras, h)
		}
	}
	m.serverConfig = m.newServerConfig()
	return m, nil
}

// Leaf returns the certificate for host (a DNS name or an IP literal,
// case-insensitive): from the cache when it is there and not within
// RenewBefore of expiring, otherwise freshly minted. The result carries the
// chain [leaf, root] and its parsed Leaf; it is shared between callers and
// must not be modified.
func (m *Minter) Leaf(host string) (*tls.Certificate, error) {
	key, err := canonicalHost(host)
	if err != nil {
		return nil, err
	}
	if hostIP(key) == nil && !permittedDNS(key, m.permitted) {
		return nil, fmt.Errorf("%w: %q", ErrNotPermitted, key)
	}
	now := m.now()

	m.mu.Lock()
	if el, ok := m.entries[key]; ok {
		e := el.Value.(*entry)
		if now.Add(RenewBefore).Before(e.notAfter) {
			m.lru.MoveToFront(el)
			m.stats.Hits++
			m.mu.Unlock()
			return e.cert, nil
		}
		m.lru.Remove(el)
		delete(m.entries, key)
	}
	if c, ok := m.inflight[key]; ok {
		m.stats.Shared++
		m.mu.Unlock()
		<-c.done
		return c.cert, c.err
	}
	c := &call{done: make(chan struct{})}
	m.inflight[key] = c
	m.mu.Unlock()

	m.lead(key, c, now)
	return c.cert, c.err
}

// lead mints for everyone waiting on c, then publishes the result. A panic
// while minting still releases the waiters (with an error) before it
// propagates.
func (m *Minter) lead(key string, c *call, now time.Time) {
	c.err = errMintPanicked
	defer func() {
		m.mu.Lock()
		delete(m.inflight, key)
		if c.err == nil {
			m.stats.Mints++
			m.add(key, c.cert)
		}
		m.mu.Unlock()
		close(c.done)
	}()
	c.cert, c.err = m.mint(key, now)
}

// add caches a fresh leaf and evicts the least recently used beyond the
// bound. m.mu must be held.
func (m *Minter) add(key string, cert *tls.Certificate) {
	if el, ok := m.entries[key]; ok { // cannot happen while key is in flight; be safe
		m.lru.Remove(el)
	}
	m.entries[key] = m.lru.PushFront(&entry{host: key, cert: cert, notAfter: cert.Leaf.NotAfter})
	for m.lru.Len() > m.max {
		old := m.lru.Back()
		m.lru.Remove(old)
		delete(m.entries, old.Value.(*entry).host)
		m.stats.Evictions++
	}
}

// mint generates a key and a leaf certificate for a canonical host.
func (m *Minter) mint(host string, now time.Time) (*tls.Certificate, error) {
	if m.testHookMint != nil {
		m.testHookMint(host)
	}
	rc := m.root.cert
	notBefore := now.Add(-leafBackdate)
	if notBefore.Before(rc.NotBefore) {
		notBefore = rc.NotBefore
	}
	notAfter := now.Add(m.validity)
	if notAfter.After(rc.NotAfter) {
		notAfter = rc.NotAfter
	}
	if !now.Add(RenewBefore).Before(notAfter) {
		return nil, fmt.Errorf("%w (root NotAfter %s)", ErrRootExpiring, rc.NotAfter.Format(time.RFC3339))
	}

	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for i, san := range append([]string{host}, m.extras...) {
		if i > 0 && san == host {
			continue
		}
		if ip := hostIP(san); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, san)
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: generate leaf key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, rc, &key.PublicKey, m.root.key)
	if err != nil {
		return nil, fmt.Errorf("ca: create leaf for %q: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse leaf for %q: %w", host, err)
	}
	return &tls.Certificate{
		Certificate: [][]byte{der, rc.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// Stats returns a snapshot of the Minter's counters.
func (m *Minter) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Entries = m.lru.Len()
	return s
}

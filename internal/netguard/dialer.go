package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Resolver looks up the addresses of a host. *net.Resolver (and so
// net.DefaultResolver) satisfies it; network is "ip", "ip4" or "ip6".
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// The defaults of the dial used when Dialer.Dial is nil.
const (
	DefaultDialTimeout = 10 * time.Second // per address tried
	DefaultKeepAlive   = 30 * time.Second
)

// Dialer dials only addresses its Policy allows. The zero Dialer uses the
// zero Policy (every default block in force), net.DefaultResolver and a
// net.Dialer with DefaultDialTimeout and DefaultKeepAlive. Its methods do
// not modify it and are safe for concurrent use if its fields are not
// changed meanwhile.
type Dialer struct {
	// Policy decides which addresses may be dialled.
	Policy Policy
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// Dial connects to one vetted IP literal ("1.2.3.4:443",
	// "[2606:4700::1111]:443"). Nil means a net.Dialer with
	// DefaultDialTimeout and DefaultKeepAlive whose Control hook checks the
	// socket's remote address against Policy once more.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DialContext connects to address ("host:port") over network ("tcp",
// "tcp4", "tcp6", "udp", "udp4" or "udp6"; any other network, such as
// "unix", is refused since it would escape the address checks).
//
// An IP-literal host is checked directly, without the resolver. A name is
// resolved exactly once; every address returned is checked, blocked ones
// are dropped, and the rest are dialled as IP literals in the order the
// resolver returned them (no family reordering or Happy Eyeballs), moving
// to the next on failure until one connects or ctx is done. The name is
// never resolved again between check and dial, so DNS rebinding cannot
// reach an unchecked address. When every address is blocked, the
// *BlockedError of the first is returned with Host set; when every dial
// fails, the last dial error is returned wrapped with the host.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ipNet, err := lookupNetwork(network)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("netguard: %w", err)
	}
	addrs, err := d.vet(ctx, ipNet, host)
	if err != nil {
		return nil, err
	}
	dial := d.dialFunc()
	var lastErr error
	for _, ip := range addrs {
		conn, err := dial(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("netguard: dial %s: %w", host, lastErr)
}

// Resolve returns the addresses of host that the Policy allows, in the
// resolver's order, for callers that check a destination before
// committing to it (a CONNECT tunnel) and then dial one of the returned
// IP literals themselves. host may be an IP literal (brackets allowed),
// which is checked without the resolver. When every address is blocked
// the *BlockedError of the first is returned, with Host set.
func (d *Dialer) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return d.vet(ctx, "ip", host)
}

// vet resolves host once (unless it is an IP literal) and keeps the
// addresses the Policy allows.
func (d *Dialer) vet(ctx context.Context, ipNet, host string) ([]netip.Addr, error) {
	if host == "" {
		return nil, &BlockedError{Reason: "an empty host means the local system", Class: ClassReserved}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := d.Policy.Check(ip); err != nil {
			return nil, withHost(err, host)
		}
		return []netip.Addr{ip}, nil
	}
	res := d.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	addrs, err := res.LookupNetIP(ctx, ipNet, host)
	if err != nil {
		return nil, fmt.Errorf("netguard: resolve %s: %w", host, err)
	}
	vetted := make([]netip.Addr, 0, len(addrs))
	var firstBlocked error
	for _, ip := range addrs {
		// Resolvers may hand back A records in IPv4-mapped form; Check
		// judges both forms alike, and the plain form dials as IPv4.
		ip = ip.Unmap()
		if err := d.Policy.Check(ip); err != nil {
			if firstBlocked == nil {
				firstBlocked = withHost(err, host)
			}
			continue
		}
		vetted = append(vetted, ip)
	}
	if len(vetted) == 0 {
		if firstBlocked != nil {
			return nil, firstBlocked
		}
		return nil, fmt.Errorf("netguard: resolve %s: no addresses", host)
	}
	return vetted, nil
}

func withHost(err error, host string) error {
	var be *BlockedError
	if errors.As(err, &be) {
		be.Host = host
	}
	return err
}

// lookupNetwork maps a dial network to the resolver network of the same
// address family.
func lookupNetwork(network string) (string, error) {
	switch network {
	case "tcp", "udp":
		return "ip", nil
	case "tcp4", "udp4":
		return "ip4", nil
	case "tcp6", "udp6":
		return "ip6", nil
	}
	return "", fmt.Errorf("netguard: unsupported network %q (want tcp, tcp4, tcp6, udp, udp4 or udp6)", network)
}

func (d *Dialer) dialFunc() func(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Dial != nil {
		return d.Dial
	}
	nd := &net.Dialer{
		Timeout:        DefaultDialTimeout,
		KeepAlive:      DefaultKeepAlive,
		ControlContext: d.Policy.control,
	}
	return nd.DialContext
}

// control re-checks the remote address of a socket about to connect:
// defence in depth should an unvetted address ever reach the dial.
func (p Policy) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: unexpected socket address %q: %w", address, err)
	}
	return p.Check(ap.Addr())
}

package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeResolver answers lookups from a script, one answer per call (the
// last answer repeats), and records the calls.
type fakeResolver struct {
	mu      sync.Mutex
	answers [][]string
	err     error
	calls   []string // "network host"
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, network+" "+host)
	if r.err != nil {
		return nil, r.err
	}
	i := min(len(r.calls)-1, len(r.answers)-1)
	var out []netip.Addr
	for _, s := range r.answers[i] {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

// failResolver fails the test when used.
type failResolver struct{ t *testing.T }

func (r failResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.t.Errorf("resolver called for %q", host)
	return nil, errors.New("resolver must not be called")
}

// fakeDial records the addresses dialled; addresses in refuse fail with
// ECONNREFUSED, others succeed with one end of a net.Pipe.
type fakeDial struct {
	mu     sync.Mutex
	refuse map[string]bool
	dialed []string
}

func (f *fakeDial) Dial(_ context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, network+" "+addr)
	if f.refuse[addr] {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, nil
}

func (f *fakeDial) got() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.dialed, ", ")
}

func TestDialResolvesOnceAndDialsVettedIP(t *testing.T) {
	// A rebinding resolver: public first, loopback on any later lookup.
	res := &fakeResolver{answers: [][]string{{"93.184.216.34"}, {"127.0.0.1"}}}
	fd := &fakeDial{}
	d := &Dialer{Resolver: res, Dial: fd.Dial}
	conn, err := d.DialContext(context.Background(), "tcp", "rebind.example:443")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if len(res.calls) != 1 || res.calls[0] != "ip rebind.example" {
		t.Errorf("resolver calls = %q, want exactly [\"ip rebind.example\"]", res.calls)
	}
	if got := fd.got(); got != "tcp 93.184.216.34:443" {
		t.Errorf("dialed %q, want the vetted literal tcp 93.184.216.34:443", got)
	}
	// A second dial resolves again and is refused at the new answer.
	_, err = d.DialContext(context.Background(), "tcp", "rebind.example:443")
	var be *BlockedError
	if !errors.As(err, &be) || be.IP != netip.MustParseAddr("127.0.0.1") || be.Host != "rebind.example" {
		t.Fatalf("second dial: err = %v, want *BlockedError for 127.0.0.1", err)
	}
	if got := fd.got(); got != "tcp 93.184.216.34:443" {
		t.Errorf("dialed %q after the blocked lookup, want nothing new", got)
	}
}

func TestDialDropsBlockedAddresses(t *testing.T) {
	res := &fakeResolver{answers: [][]string{{"127.0.0.1", "169.254.169.254", "8.8.8.8", "::ffff:10.0.0.1", "2606:4700::1111"}}}
	fd := &fakeDial{refuse: map[string]bool{"8.8.8.8:80": true}}
	d := &Dialer{Resolver: res, Dial: fd.Dial}
	conn, err := d.DialContext(context.Background(), "tcp", "mixed.example:80")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got, want := fd.got(), "tcp 8.8.8.8:80, tcp [2606:4700::1111]:80"; got != want {
		t.Errorf("dialed %q, want %q", got, want)
	}
}

func TestDialAllBlockedReturnsFirstBlock(t *testing.T) {
	res := &fakeResolver{answers: [][]string{{"10.0.0.1", "169.254.169.254"}}}
	fd := &fakeDial{}
	d := &Dialer{Resolver: res, Dial: fd.Dial}
	_, err := d.DialContext(context.Background(), "tcp", "internal.example:443")
	var be *BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want *BlockedError", err)
	}
	if be.Host != "internal.example" || be.IP != netip.MustParseAddr("10.0.0.1") || be.Class != ClassPrivate {
		t.Errorf("BlockedError = %+v, want host internal.example, IP 10.0.0.1, private", be)
	}
	if want := "destination internal.example (10.0.0.1) is blocked: private range 10.0.0.0/8"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if got := fd.got(); got != "" {
		t.Errorf("dialed %q, want nothing", got)
	}
}

func TestDialFallsBackToNextAddress(t *testing.T) {
	res := &fakeResolver{answers: [][]string{{"1.1.1.1", "2606:4700::1111", "8.8.8.8"}}}
	fd := &fakeDial{refuse: map[string]bool{"1.1.1.1:443": true, "[2606:4700::1111]:443": true}}
	d := &Dialer{Resolver: res, Dial: fd.Dial}
	conn, err := d.DialContext(context.Background(), "tcp", "multi.example:443")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got, want := fd.got(), "tcp 1.1.1.1:443, tcp [2606:4700::1111]:443, tcp 8.8.8.8:443"; got != want {
		t.Errorf("dialed %q, want %q", got, want)
	}
	if len(res.calls) != 1 {
		t.Errorf("resolver called %d times, want 1", len(res.calls))
	}
}

func TestDialAllFailWrapsLastError(t *testing.T) {
	res := &fakeResolver{answers: [][]string{{"1.1.1.1", "8.8.8.8"}}}
	fd := &fakeDial{refuse: map[string]bool{"1.1.1.1:443": true, "8.8.8.8:443": true}}
	d := &Dialer{Resolver: res, Dial: fd.Dial}
	_, err := d.DialContext(context.Background(), "tcp", "down.example:443")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want it to wrap ECONNREFUSED", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want it to wrap the *net.OpError", err)
	}
	if !strings.Contains(err.Error(), "down.example") {
		t.Errorf("err = %q, want the host in it", err)
	}
	var be *BlockedError
	if errors.As(err, &be) {
		t.Errorf("a dial failure must not look like a block: %v", err)
	}
	if got := fd.got(); got != "tcp 1.1.1.1:443, tcp 8.8.8.8:443" {
		t.Errorf("dialed %q", got)
	}
}

func TestDialStopsFallbackWhenContextDone(t *testing.T) {
	res := &fakeResolver{answers: [][]string{{"1.1.1.1", "8.8.8.8"}}}
	ctx, cancel := context.WithCancel(context.Background())
	var dialed []string
	d := &Dialer{Resolver: res, Dial: func(_ context.Context, _, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		cancel()
		return nil, context.Canceled
	}}
	_, err := d.DialContext(ctx, "tcp", "slow.example:443")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(dialed) != 1 {
		t.Errorf("dialed %q after cancellation, want only the first address", dialed)
	}
}

func TestDialIPLiteralSkipsResolver(t *testing.T) {
	fd := &fakeDial{}
	d := &Dialer{Resolver: failResolver{t}, Dial: fd.Dial}
	for _, addr := range []string{"8.8.8.8:443", "[2606:4700::1111]:443"} {
		conn, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		conn.Close()
	}
	if got, want := fd.got(), "tcp 8.8.8.8:443, tcp [2606:4700::1111]:443"; got != want {
		t.Errorf("dialed %q, want %q", got, want)
	}
	for _, tc := range []struct{ addr, host string }{
		{"127.0.0.1:80", "127.0.0.1"},
		{"[::1]:80", "::1"},
		{"[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1"},
		{"[::ffff:169.254.169.254]:80", "::ffff:169.254.169.254"},
		{"169.254.169.254:80", "169.254.169.254"},
		{"[fe80::1%eth0]:80", "fe80::1%eth0"},
		{"0.0.0.0:80", "0.0.0.0"},
	} {
		_, err := d.DialContext(context.Background(), "tcp", tc.addr)
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Errorf("%s: err = %v, want *BlockedError", tc.addr, err)
			continue
		}
		if be.Host != tc.host {
			t.Errorf("%s: BlockedError.Host = %q, want %q", tc.addr, be.Host, tc.host)
		}
	}
	if got := fd.got(); strings.Count(got, ",") != 1 {
		t.Errorf("blocked literals were dialled: %q", got)
	}
}

func TestDialNetworkFamily(t *testing.T) {
	for network, want := range map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6", "udp": "ip", "udp4": "ip4", "udp6": "ip6"} {
		res := &fakeResolver{answers: [][]string{{"8.8.8.8"}}}
		fd := &fakeDial{}
		d := &Dialer{Resolver: res, Dial: fd.Dial}
		conn, err := d.DialContext(context.Background(), network, "fam.example:53")
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		conn.Close()
		if res.calls[0] != want+" fam.example" {
			t.Errorf("%s: resolver network = %q, want %q", network, res.calls[0], want)
		}
		if got := fd.got(); got != network+" 8.8.8.8:53" {
			t.Errorf("%s: dialed %q", network, got)
		}
	}
}

func TestDialRejectsBadInput(t *testing.T) {
	d := &Dialer{Resolver: failResolver{t}, Dial: func(context.Context, string, string) (net.Conn, error) {
		t.Error("dial called")
		return nil, errors.New("no")
	}}
	for _, tc := range []struct{ network, addr, want string }{
		{"unix", "/run/docker.sock", "unsupported network"},
		{"ip4:icmp", "8.8.8.8", "unsupported network"},
		{"tcp", "example.com", "missing port"},
		{"tcp", "[::1", "missing ']'"},
	} {
		_, err := d.DialContext(context.Background(), tc.network, tc.addr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DialContext(%s, %s) = %v, want error containing %q", tc.network, tc.addr, err, tc.want)
		}
	}
	// An empty host means the local system to net.Dial: blocked.
	_, err := d.DialContext(context.Background(), "tcp", ":80")
	var be *BlockedError
	if !errors.As(err, &be) || be.IP.IsValid() {
		t.Errorf("empty host: err = %v, want *BlockedError without IP", err)
	}
}

func TestDialResolverErrors(t *testing.T) {
	nx := &net.DNSError{Err: "no such host", Name: "nx.example", IsNotFound: true}
	d := &Dialer{Resolver: &fakeResolver{err: nx}, Dial: (&fakeDial{}).Dial}
	_, err := d.DialContext(context.Background(), "tcp", "nx.example:443")
	var de *net.DNSError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "resolve nx.example") {
		t.Errorf("err = %v, want the wrapped *net.DNSError", err)
	}
	d.Resolver = &fakeResolver{answers: [][]string{nil}}
	_, err = d.DialContext(context.Background(), "tcp", "empty.example:443")
	if err == nil || !strings.Contains(err.Error(), "no addresses") {
		t.Errorf("err = %v, want no addresses", err)
	}
}

func TestResolve(t *testing.T) {
	res := &fakeResolver{answers: [][]string{{"10.0.0.1", "::ffff:8.8.8.8", "fd00:ec2::254", "2606:4700::1111"}}}
	d := &Dialer{Resolver: res}
	got, err := d.Resolve(context.Background(), "api.example")
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2606:4700::1111")}; !equalAddrs(got, want) {
		t.Errorf("Resolve = %v, want %v (blocked dropped, mapped unmapped)", got, want)
	}
	if len(res.calls) != 1 || res.calls[0] != "ip api.example" {
		t.Errorf("resolver calls = %q", res.calls)
	}

	d = &Dialer{Resolver: failResolver{t}}
	for _, host := range []string{"8.8.8.8", "[2606:4700::1111]", "2606:4700::1111"} {
		got, err := d.Resolve(context.Background(), host)
		if err != nil || len(got) != 1 {
			t.Errorf("Resolve(%s) = %v, %v", host, got, err)
		}
	}
	_, err = d.Resolve(context.Background(), "[fd00:ec2::254]")
	var be *BlockedError
	if !errors.As(err, &be) || be.Class != ClassMetadata || be.Host != "fd00:ec2::254" {
		t.Errorf("Resolve(metadata) err = %v, want metadata *BlockedError", err)
	}

	d = &Dialer{Resolver: &fakeResolver{answers: [][]string{{"127.0.0.1", "::1"}}}, Policy: Policy{AllowPrivate: true}}
	got, err = d.Resolve(context.Background(), "localhost")
	if err != nil || len(got) != 2 {
		t.Errorf("AllowPrivate Resolve(localhost) = %v, %v", got, err)
	}
}

func equalAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDialLoopbackReal uses the default dial against a real loopback
// listener: allowed with AllowPrivate, blocked without.
func TestDialLoopbackReal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- err
			return
		}
		defer c.Close()
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			accepted <- err
			return
		}
		_, err = c.Write(append([]byte("pong:"), buf...))
		accepted <- err
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, addr := range []string{"127.0.0.1:" + port, "svc.internal:" + port} {
		res := &fakeResolver{answers: [][]string{{"127.0.0.1"}}}
		_, err := (&Dialer{Resolver: res}).DialContext(ctx, "tcp", addr)
		var be *BlockedError
		if !errors.As(err, &be) || be.Class != ClassPrivate {
			t.Fatalf("default policy: dial %s err = %v, want private *BlockedError", addr, err)
		}
	}

	res := &fakeResolver{answers: [][]string{{"127.0.0.1"}}}
	d := &Dialer{Policy: Policy{AllowPrivate: true}, Resolver: res}
	conn, err := d.DialContext(ctx, "tcp", "svc.internal:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); !ok {
		t.Errorf("conn is %T, want *net.TCPConn", conn)
	} else if ra := tc.RemoteAddr().String(); ra != ln.Addr().String() {
		t.Errorf("remote %s, want %s", ra, ln.Addr())
	}
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 9)
	if _, err := io.ReadFull(conn, reply); err != nil {
		t.Fatal(err)
	}
	if string(reply) != "pong:ping" {
		t.Errorf("reply %q, want pong:ping", reply)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
}

// The default dial's socket hook re-checks the address it connects to.
func TestDefaultDialControlRechecks(t *testing.T) {
	var be *BlockedError
	if err := (Policy{}).control(context.Background(), "tcp4", "127.0.0.1:80", nil); !errors.As(err, &be) {
		t.Errorf("control(127.0.0.1) = %v, want *BlockedError", err)
	}
	if err := (Policy{AllowPrivate: true}).control(context.Background(), "tcp6", "[fd00:ec2::254]:80", nil); !errors.As(err, &be) || be.Class != ClassMetadata {
		t.Errorf("control(fd00:ec2::254) = %v, want metadata *BlockedError", err)
	}
	if err := (Policy{}).control(context.Background(), "tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("control(8.8.8.8) = %v", err)
	}
	if err := (Policy{}).control(context.Background(), "tcp4", "garbage", nil); err == nil {
		t.Error("control(garbage) = nil, want error")
	}
}

func TestNetResolverSatisfiesResolver(t *testing.T) {
	var _ Resolver = net.DefaultResolver
	var _ Resolver = &net.Resolver{}
}

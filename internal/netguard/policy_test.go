package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

type blockCase struct {
	ip     string
	class  Class
	reason string // substring of BlockedError.Reason
}

// defaultBlocked lists addresses the zero Policy must block.
var defaultBlocked = []blockCase{
	// Cloud metadata: always.
	{"169.254.169.254", ClassMetadata, "cloud metadata endpoint"},
	{"fd00:ec2::254", ClassMetadata, "cloud metadata endpoint"},
	{"169.254.170.2", ClassMetadata, "cloud metadata endpoint"},
	{"169.254.170.23", ClassMetadata, "cloud metadata endpoint"},
	{"fd00:ec2::23", ClassMetadata, "cloud metadata endpoint"},
	{"100.100.100.200", ClassMetadata, "cloud metadata endpoint"},
	{"168.63.129.16", ClassMetadata, "cloud metadata endpoint"},
	{"192.0.0.192", ClassMetadata, "cloud metadata endpoint"},
	{"169.254.0.23", ClassMetadata, "cloud metadata endpoint"},
	// Embedded forms of metadata.
	{"::ffff:169.254.169.254", ClassMetadata, "IPv4-mapped form of 169.254.169.254 (cloud metadata endpoint)"},
	{"::169.254.169.254", ClassMetadata, "IPv4-compatible form of 169.254.169.254"},
	{"::ffff:0:169.254.169.254", ClassMetadata, "IPv4-translated form of 169.254.169.254"},
	{"2002:a9fe:a9fe::", ClassMetadata, "6to4 form of 169.254.169.254"},
	{"2002:a9fe:a9fe:1234::5", ClassMetadata, "6to4 form of 169.254.169.254"},
	{"64:ff9b::a9fe:a9fe", ClassMetadata, "NAT64 form of 169.254.169.254"},
	{"64:ff9b::168.63.129.16", ClassMetadata, "NAT64 form of 168.63.129.16"},
	{"64:ff9b:1::a9fe:a9fe", ClassMetadata, "local-use NAT64 form of 169.254.169.254"},      // /96 position
	{"64:ff9b:1:a9fe:a9:fe00::", ClassMetadata, "local-use NAT64 form of 169.254.169.254"},  // /48 position
	{"64:ff9b:1:a9:fe:a9fe::", ClassMetadata, "local-use NAT64 form of 169.254.169.254"},    // /56 position
	{"64:ff9b:1::a9:fea9:fe00:0", ClassMetadata, "local-use NAT64 form of 169.254.169.254"}, // /64 position
	{"::ffff:100.100.100.200", ClassMetadata, "IPv4-mapped form of 100.100.100.200"},
	// RFC 1918.
	{"10.0.0.1", ClassPrivate, "private range 10.0.0.0/8"},
	{"10.255.255.255", ClassPrivate, "private range 10.0.0.0/8"},
	{"172.16.0.1", ClassPrivate, "private range 172.16.0.0/12"},
	{"172.31.255.254", ClassPrivate, "private range 172.16.0.0/12"},
	{"192.168.1.1", ClassPrivate, "private range 192.168.0.0/16"},
	// Loopback, this-network, link-local, CGN, IETF, benchmarking.
	{"127.0.0.1", ClassPrivate, "loopback range 127.0.0.0/8"},
	{"127.255.255.254", ClassPrivate, "loopback range 127.0.0.0/8"},
	{"0.0.0.0", ClassPrivate, "this-network range 0.0.0.0/8"},
	{"0.1.2.3", ClassPrivate, "this-network range 0.0.0.0/8"},
	{"169.254.1.1", ClassPrivate, "link-local range 169.254.0.0/16"},
	{"100.64.0.1", ClassPrivate, "carrier-grade NAT range 100.64.0.0/10"},
	{"100.127.255.254", ClassPrivate, "carrier-grade NAT range 100.64.0.0/10"},
	{"192.0.0.8", ClassPrivate, "IETF protocol assignments range 192.0.0.0/24"},
	{"198.18.0.1", ClassPrivate, "benchmarking range 198.18.0.0/15"},
	{"198.19.255.254", ClassPrivate, "benchmarking range 198.18.0.0/15"},
	// Multicast, reserved, broadcast, documentation.
	{"224.0.0.1", ClassReserved, "multicast range 224.0.0.0/4"},
	{"239.255.255.250", ClassReserved, "multicast range 224.0.0.0/4"},
	{"240.0.0.1", ClassReserved, "reserved range 240.0.0.0/4"},
	{"255.255.255.254", ClassReserved, "reserved range 240.0.0.0/4"},
	{"255.255.255.255", ClassReserved, "limited broadcast address"},
	{"192.0.2.1", ClassReserved, "documentation range 192.0.2.0/24"},
	{"198.51.100.7", ClassReserved, "documentation range 198.51.100.0/24"},
	{"203.0.113.9", ClassReserved, "documentation range 203.0.113.0/24"},
	// IPv6.
	{"::1", ClassPrivate, "IPv6 loopback address"},
	{"::", ClassPrivate, "IPv6 unspecified address"},
	{"fe80::1", ClassPrivate, "IPv6 link-local range fe80::/10"},
	{"febf:ffff::1", ClassPrivate, "IPv6 link-local range fe80::/10"},
	{"fec0::1", ClassPrivate, "deprecated IPv6 site-local range"},
	{"fc00::1", ClassPrivate, "IPv6 unique local range fc00::/7"},
	{"fd12:3456:789a::1", ClassPrivate, "IPv6 unique local range fc00::/7"},
	{"fd00:ec2::1", ClassPrivate, "IPv6 unique local range fc00::/7"},
	{"2001:2::1", ClassPrivate, "IPv6 benchmarking range 2001:2::/48"},
	{"ff02::1", ClassReserved, "IPv6 multicast range ff00::/8"},
	{"ff0e::101", ClassReserved, "IPv6 multicast range ff00::/8"},
	{"2001:db8::1", ClassReserved, "IPv6 documentation range 2001:db8::/32"},
	{"3fff::1", ClassReserved, "IPv6 documentation range 3fff::/20"},
	{"100::1", ClassReserved, "IPv6 discard-only range 100::/64"},
	{"2001:0:4136:e378:8000:63bf:3fff:fdd2", ClassReserved, "Teredo range 2001::/32"},
	// Embedded forms of default-blocked IPv4.
	{"::ffff:127.0.0.1", ClassPrivate, "IPv4-mapped form of 127.0.0.1 (loopback range 127.0.0.0/8)"},
	{"::ffff:10.0.0.1", ClassPrivate, "IPv4-mapped form of 10.0.0.1 (private range 10.0.0.0/8)"},
	{"::ffff:0.0.0.0", ClassPrivate, "IPv4-mapped form of 0.0.0.0"},
	{"::ffff:192.168.0.1", ClassPrivate, "IPv4-mapped form of 192.168.0.1"},
	{"::ffff:100.64.0.1", ClassPrivate, "IPv4-mapped form of 100.64.0.1"},
	{"::ffff:224.0.0.1", ClassReserved, "IPv4-mapped form of 224.0.0.1"},
	{"::ffff:255.255.255.255", ClassReserved, "IPv4-mapped form of 255.255.255.255"},
	{"::7f00:1", ClassPrivate, "IPv4-compatible form of 127.0.0.1"},
	{"::10.0.0.1", ClassPrivate, "IPv4-compatible form of 10.0.0.1"},
	{"::ffff:0:7f00:1", ClassPrivate, "IPv4-translated form of 127.0.0.1"},
	{"2002:7f00:1::", ClassPrivate, "6to4 form of 127.0.0.1"},
	{"2002:a00:1::1", ClassPrivate, "6to4 form of 10.0.0.1"},
	{"2002:c0a8:101::", ClassPrivate, "6to4 form of 192.168.1.1"},
	{"64:ff9b::7f00:1", ClassPrivate, "NAT64 form of 127.0.0.1"},
	{"64:ff9b::10.1.2.3", ClassPrivate, "NAT64 form of 10.1.2.3"},
	{"64:ff9b::a9fe:101", ClassPrivate, "NAT64 form of 169.254.1.1"},
	{"64:ff9b:1::a00:1", ClassPrivate, "local-use NAT64 range 64:ff9b:1::/48"},
	{"64:ff9b:1::808:808", ClassPrivate, "local-use NAT64 range 64:ff9b:1::/48"},
}

func TestCheckBlocksByDefault(t *testing.T) {
	for _, tc := range defaultBlocked {
		t.Run(tc.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			assertBlocked(t, Policy{}.Check(ip), ip, tc.class, tc.reason)
		})
	}
}

func assertBlocked(t *testing.T, err error, ip netip.Addr, class Class, reason string) {
	t.Helper()
	var be *BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("Check(%s) = %v, want *BlockedError", ip, err)
	}
	if be.IP != ip.WithZone("") {
		t.Errorf("BlockedError.IP = %s, want %s", be.IP, ip)
	}
	if be.Class != class {
		t.Errorf("Check(%s) class = %s, want %s (reason %q)", ip, be.Class, class, be.Reason)
	}
	if !strings.Contains(be.Reason, reason) {
		t.Errorf("Check(%s) reason = %q, want it to contain %q", ip, be.Reason, reason)
	}
}

var publicAddrs = []string{
	"8.8.8.8", "1.1.1.1", "93.184.216.34", "9.255.255.255", "11.0.0.0",
	"100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.1",
	"169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
	"192.0.1.1", "192.0.3.1", "192.167.255.255", "192.169.0.0",
	"198.17.255.255", "198.20.0.0", "223.255.255.255",
	"2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::200e",
	"2001:1::1", "2001:3::1", "2001:db9::1", "4000::1", "fbff::1",
	// Embedded forms of public IPv4 addresses.
	"::ffff:8.8.8.8", "::8.8.8.8", "::ffff:0:8.8.8.8",
	"2002:808:808::1", "64:ff9b::808:808", "64:ff9b::1.1.1.1",
}

func TestCheckAllowsPublic(t *testing.T) {
	for _, s := range publicAddrs {
		if err := (Policy{}).Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", s, err)
		}
	}
}

func TestCheckAllowPrivate(t *testing.T) {
	p := Policy{AllowPrivate: true}
	for _, tc := range defaultBlocked {
		ip := netip.MustParseAddr(tc.ip)
		err := p.Check(ip)
		if tc.class == ClassPrivate {
			if err != nil {
				t.Errorf("AllowPrivate: Check(%s) = %v, want nil", tc.ip, err)
			}
			continue
		}
		// Metadata and reserved ranges stay blocked.
		assertBlocked(t, err, ip, tc.class, tc.reason)
	}
	for _, s := range publicAddrs {
		if err := p.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("AllowPrivate: Check(%s) = %v, want nil", s, err)
		}
	}
}

func TestCheckAllowlist(t *testing.T) {
	allow, err := ParseAllowlist("10.1.0.0/16, 169.254.0.0/16, fd00::/8, 224.0.0.251, 2001:db8::/32, 100.64.0.0/10")
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Allow: allow}
	allowed := []string{
		"10.1.2.3", "::ffff:10.1.2.3", "::10.1.2.3", "2002:a01:203::", "64:ff9b::a01:203",
		"169.254.1.1", "fd00::1", "fd12::1", "224.0.0.251", "2001:db8::1",
		"8.8.8.8", "100.64.0.1",
	}
	for _, s := range allowed {
		if err := p.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("allowlist: Check(%s) = %v, want nil", s, err)
		}
	}
	blocked := []blockCase{
		{"10.2.0.1", ClassPrivate, "private range 10.0.0.0/8"},
		{"::ffff:10.2.0.1", ClassPrivate, "IPv4-mapped form of 10.2.0.1"},
		{"127.0.0.1", ClassPrivate, "loopback"},
		{"fc00::1", ClassPrivate, "unique local"},
		{"224.0.0.1", ClassReserved, "multicast"},
		// Holes never open metadata endpoints inside them.
		{"169.254.169.254", ClassMetadata, "cloud metadata endpoint"},
		{"169.254.170.2", ClassMetadata, "cloud metadata endpoint"},
		{"fd00:ec2::254", ClassMetadata, "cloud metadata endpoint"},
		{"100.100.100.200", ClassMetadata, "cloud metadata endpoint"},
		{"::ffff:169.254.169.254", ClassMetadata, "cloud metadata endpoint"},
		{"64:ff9b::a9fe:a9fe", ClassMetadata, "cloud metadata endpoint"},
	}
	for _, tc := range blocked {
		ip := netip.MustParseAddr(tc.ip)
		assertBlocked(t, p.Check(ip), ip, tc.class, tc.reason)
	}
}

func TestCheckAllowlistEverythingStillBlocksMetadata(t *testing.T) {
	p := Policy{AllowPrivate: true, Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
	for _, s := range []string{"127.0.0.1", "::1", "224.0.0.1", "255.255.255.255", "2001:db8::1", "::ffff:10.0.0.1"} {
		if err := p.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", s, err)
		}
	}
	for _, m := range metadataAddrs {
		assertBlocked(t, p.Check(m), m, ClassMetadata, "cloud metadata endpoint")
	}
}

// The allowlist is matched per part: an IPv6 entry covering a NAT64
// prefix does not open the path to a blocked embedded IPv4 address.
func TestCheckAllowlistIPv6FormDoesNotLiftEmbedded(t *testing.T) {
	p := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("2002::/16")}}
	for _, s := range []string{"64:ff9b::7f00:1", "2002:a00:1::"} {
		ip := netip.MustParseAddr(s)
		assertBlocked(t, p.Check(ip), ip, ClassPrivate, "form of")
	}
}

func TestCheckZoneAndInvalid(t *testing.T) {
	ip := netip.MustParseAddr("fe80::1%eth0")
	assertBlocked(t, Policy{}.Check(ip), ip, ClassPrivate, "link-local")
	if err := (Policy{AllowPrivate: true}).Check(ip); err != nil {
		t.Errorf("AllowPrivate: Check(%s) = %v", ip, err)
	}
	var be *BlockedError
	if err := (Policy{AllowPrivate: true}).Check(netip.Addr{}); !errors.As(err, &be) || be.Class != ClassReserved {
		t.Errorf("Check(invalid) = %v, want reserved *BlockedError", err)
	}
}

func TestBlockedErrorMessage(t *testing.T) {
	ip := netip.MustParseAddr("10.0.0.1")
	tests := []struct {
		err  BlockedError
		want string
	}{
		{BlockedError{Host: "internal.example", IP: ip, Reason: "private range 10.0.0.0/8"}, "destination internal.example (10.0.0.1) is blocked: private range 10.0.0.0/8"},
		{BlockedError{Host: "10.0.0.1", IP: ip, Reason: "r"}, "destination 10.0.0.1 is blocked: r"},
		{BlockedError{IP: ip, Reason: "r"}, "destination 10.0.0.1 is blocked: r"},
		{BlockedError{Host: "x", Reason: "r"}, "destination x is blocked: r"},
		{BlockedError{Reason: "r"}, `destination "" is blocked: r`},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	for c, want := range map[Class]string{ClassMetadata: "metadata", ClassPrivate: "private", ClassReserved: "reserved", 0: "Class(0)"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", c, got, want)
		}
	}
}

func TestParseAllowlist(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{" , ,", nil},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}},
		{"10.0.0.0/8,192.168.1.5", []string{"10.0.0.0/8", "192.168.1.5/32"}},
		{" 10.0.0.0/8 ,\t192.168.1.5 , fd00::/8,fe80::1,", []string{"10.0.0.0/8", "192.168.1.5/32", "fd00::/8", "fe80::1/128"}},
		{"::ffff:10.0.0.1", []string{"10.0.0.1/32"}},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"0.0.0.0/0,::/0", []string{"0.0.0.0/0", "::/0"}},
		{"169.254.0.0/16", []string{"169.254.0.0/16"}}, // contains metadata, which stays blocked
		{"169.254.169.254/31", []string{"169.254.169.254/31"}},
	}
	for _, tc := range tests {
		got, err := ParseAllowlist(tc.in)
		if err != nil {
			t.Errorf("ParseAllowlist(%q) error: %v", tc.in, err)
			continue
		}
		var gs []string
		for _, p := range got {
			gs = append(gs, p.String())
		}
		if strings.Join(gs, " ") != strings.Join(tc.want, " ") {
			t.Errorf("ParseAllowlist(%q) = %v, want %v", tc.in, gs, tc.want)
		}
	}
}

func TestParseAllowlistErrors(t *testing.T) {
	tests := []struct {
		in   string
		want []string // substrings of the error
	}{
		{"banana", []string{`entry 1 "banana"`, "not an IP address or CIDR prefix"}},
		{"10.0.0.0/8,10.0.0.0/33", []string{`entry 2 "10.0.0.0/33"`, "not a valid CIDR prefix"}},
		{"10.0.0.0/8, ,300.1.1.1", []string{`entry 3 "300.1.1.1"`, "not an IP address"}},
		{"10.0.0.1/8", []string{"host bits are set", "did you mean 10.0.0.0/8", "single address 10.0.0.1"}},
		{"fe80::1%eth0", []string{"zones are not allowed"}},
		{"fe80::%eth0/64", []string{"zones are not allowed"}},
		{"10.0.0.0/8 192.168.0.0/16", []string{"not a valid CIDR prefix"}},
		{"10.0.0.0/8;192.168.0.0/16", []string{"not a valid CIDR prefix"}},
		{"http://10.0.0.1", []string{"not"}},
		{"example.com", []string{"not an IP address"}},
		{"169.254.169.254", []string{"169.254.169.254 is a cloud metadata endpoint", "cannot unblock"}},
		{"169.254.169.254/32", []string{"cloud metadata endpoint"}},
		{"fd00:ec2::254", []string{"cloud metadata endpoint"}},
		{"::ffff:169.254.169.254", []string{"cloud metadata endpoint"}},
		{"64:ff9b::a9fe:a9fe", []string{"NAT64 form of 169.254.169.254 (cloud metadata endpoint)"}},
		{"168.63.129.16", []string{"cloud metadata endpoint"}},
	}
	for _, tc := range tests {
		got, err := ParseAllowlist(tc.in)
		if err == nil {
			t.Errorf("ParseAllowlist(%q) = %v, want error", tc.in, got)
			continue
		}
		if got != nil {
			t.Errorf("ParseAllowlist(%q) returned %v alongside an error", tc.in, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseAllowlist(%q) error %q, want it to contain %q", tc.in, err, w)
			}
		}
	}
}

// FuzzCheck: Check never panics; an IPv4 address and its IPv4-mapped form
// get the same verdict (so a blocked IPv4 is blocked when mapped); the
// other embedded forms of a blocked IPv4 are blocked too; metadata stays
// blocked under every policy; and AllowPrivate only ever lifts blocks.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"::ffff:169.254.169.254", "::ffff:10.0.0.1", "2002:a9fe:a9fe::", "64:ff9b::a9fe:a9fe", "::7f00:1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b:1:a9fe:a9:fe00::", "::", "ff02::1"} {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:])
	}
	allow := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("169.254.0.0/16")}
	policies := []Policy{{}, {AllowPrivate: true}, {Allow: allow}, {AllowPrivate: true, Allow: allow}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b16 [16]byte
		copy(b16[:], data)
		ip := netip.AddrFrom16(b16)
		var v4b [4]byte
		copy(v4b[:], b16[12:])
		v4 := netip.AddrFrom4(v4b)
		mapped := netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: v4b[0], 13: v4b[1], 14: v4b[2], 15: v4b[3]})
		compat := netip.AddrFrom16([16]byte{12: v4b[0], 13: v4b[1], 14: v4b[2], 15: v4b[3]})
		sixToFour := netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: v4b[0], 3: v4b[1], 4: v4b[2], 5: v4b[3], 15: b16[0]})
		nat64 := netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 12: v4b[0], 13: v4b[1], 14: v4b[2], 15: v4b[3]})
		for _, p := range policies {
			ipErr := p.Check(ip)
			_ = p.Check(ip.Unmap())
			v4Err := p.Check(v4)
			if (v4Err == nil) != (p.Check(mapped) == nil) {
				t.Fatalf("%+v: Check(%s) = %v but Check(%s) = %v", p, v4, v4Err, mapped, p.Check(mapped))
			}
			if v4Err != nil {
				for _, form := range []netip.Addr{mapped, compat, sixToFour, nat64} {
					if p.Check(form) == nil {
						t.Fatalf("%+v: %s is blocked (%v) but its embedded form %s is not", p, v4, v4Err, form)
					}
				}
			}
			if ipErr != nil {
				var be *BlockedError
				if !errors.As(ipErr, &be) || be.Reason == "" || be.IP != ip || be.Class < ClassMetadata || be.Class > ClassReserved {
					t.Fatalf("%+v: Check(%s) = %#v, want a complete *BlockedError", p, ip, ipErr)
				}
				_ = be.Error()
			}
			if isMetadata(v4) && p.Check(mapped) == nil {
				t.Fatalf("%+v: metadata %s allowed when mapped", p, mapped)
			}
		}
		if (Policy{}).Check(ip) == nil && (Policy{AllowPrivate: true}).Check(ip) != nil {
			t.Fatalf("AllowPrivate blocks %s, which the zero Policy allows", ip)
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	allow, err := ParseAllowlist("10.1.0.0/16,10.2.0.0/16,10.3.0.0/16,192.168.5.0/24,fd00:1::/32,fd00:2::/32,172.20.0.0/16,100.64.1.0/24")
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		p    Policy
		ip   string
	}{
		{"public-v4", Policy{}, "93.184.216.34"},
		{"public-v6", Policy{}, "2606:4700::1111"},
		{"private-v4-blocked", Policy{}, "10.0.0.1"},
		{"mapped-metadata-blocked", Policy{}, "::ffff:169.254.169.254"},
		{"nat64-public", Policy{}, "64:ff9b::808:808"},
		{"local-nat64-allowprivate", Policy{AllowPrivate: true}, "64:ff9b:1::808:808"},
		{"allowlisted-v4", Policy{Allow: allow}, "100.64.1.7"},
		{"allowprivate-v4", Policy{AllowPrivate: true}, "192.168.0.1"},
	}
	for _, c := range cases {
		ip := netip.MustParseAddr(c.ip)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.p.Check(ip)
			}
		})
	}
}

// Local-use NAT64 is blocked whole by default; once lifted, only the
// metadata decodings are checked.
func TestCheckLocalUseNAT64(t *testing.T) {
	allowed := []string{"64:ff9b:1::808:808", "64:ff9b:1::a00:1"}
	for _, p := range []Policy{
		{AllowPrivate: true},
		{Allow: []netip.Prefix{netip.MustParsePrefix("64:ff9b:1::/96")}},
	} {
		for _, s := range allowed {
			if err := p.Check(netip.MustParseAddr(s)); err != nil {
				t.Errorf("%+v: Check(%s) = %v, want nil", p, s, err)
			}
		}
		for _, s := range []string{"64:ff9b:1::a9fe:a9fe", "64:ff9b:1::a9fe:aa02"} {
			ip := netip.MustParseAddr(s)
			assertBlocked(t, p.Check(ip), ip, ClassMetadata, "local-use NAT64 form of")
		}
	}
	ip := netip.MustParseAddr("64:ff9b:1:1::808:808") // outside the allowlisted /96
	assertBlocked(t, Policy{Allow: []netip.Prefix{netip.MustParsePrefix("64:ff9b:1::/96")}}.Check(ip), ip, ClassPrivate, "local-use NAT64 range")
}

package ratelimit

import (
	"math"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP checks the client address read from a peer and its
// X-Forwarded-For headers: it never panics; an untrusted peer is the
// client whatever the headers say; any other answer is the peer or an
// address written in a header, in canonical form (no zone, IPv4 not
// mapped into IPv6).
func FuzzClientIP(f *testing.F) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, c := range [][3]string{
		{"10.1.2.3:5555", "203.0.113.9", ""}, {"10.1.2.3:5555", "198.51.100.1, 10.0.0.9", "203.0.113.9"},
		{"203.0.113.5:1", "1.2.3.4", ""}, {"[::1]:80", "[2001:db8::1]:443, ::ffff:10.0.0.1", "fe80::1%eth0"},
		{"127.0.0.1:1", "not an address, 10.0.0.1", ""}, {"garbage", "1.1.1.1", ""}, {"10.0.0.1:1", " , ,", "10.0.0.2"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, remote, xff1, xff2 string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				r.Header.Add("X-Forwarded-For", v)
			}
		}
		got := ClientIP(r, trusted)
		peer, ok := parseAddr(remote)
		if !ok {
			return // not an address: returned as it came
		}
		if !isTrusted(peer, trusted) {
			if got != peer.String() {
				t.Fatalf("untrusted peer %q: client %q, want the peer", remote, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("client %q is not a canonical address", got)
		}
		if a == peer {
			return
		}
		found := false
		for _, part := range strings.Split(xff1+","+xff2, ",") {
			if b, ok := parseAddr(strings.TrimSpace(part)); ok && b == a {
				found = true
			}
		}
		if !found {
			t.Fatalf("client %q is neither the peer %q nor in X-Forwarded-For %q, %q", got, remote, xff1, xff2)
		}
	})
}

// FuzzParseOverrides checks the rate-limit settings read from the
// environment: it never panics, every error names the variable at fault,
// and what it accepts is sane (no negative knob other than the "off"
// mark, no NaN or infinite rate; a huge rate is fine, the limiter clamps).
func FuzzParseOverrides(f *testing.F) {
	for _, c := range [][2]string{
		{"PROXY_RATE", "600/m"}, {"AUTH_WINDOW", "90s"}, {"AUTH_MAX", "5"}, {"GLOBAL_CONCURRENCY", "off"}, {"API_BURST", "0"},
		{"API_RATE", "1e309"}, {"API_RATE", "NaN"}, {"PROXY_WINDOW", "-1s"}, {"NOPE_RATE", "1"}, {"AUTH", "1"}, {"API_RATE", "10/x"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, knob, value string) {
		key := EnvPrefix + knob
		got, err := ParseOverrides(map[string]string{key: value})
		if err != nil {
			if !strings.Contains(err.Error(), key) {
				t.Fatalf("error %q does not name %s", err, key)
			}
			return
		}
		for tier, l := range got {
			if math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) || l.Rate < 0 && l.Rate != -1 {
				t.Fatalf("%s=%q: tier %v rate %v", key, value, tier, l.Rate)
			}
			for _, n := range []int{l.Burst, l.Max, l.Concurrency} {
				if n < -1 {
					t.Fatalf("%s=%q: tier %v knob %d", key, value, tier, n)
				}
			}
			if l.Window < -1 {
				t.Fatalf("%s=%q: tier %v window %v", key, value, tier, l.Window)
			}
		}
	})
}

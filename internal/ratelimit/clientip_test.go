package ratelimit

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 127.0.0.1 fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxy", "203.0.113.5:4242", nil, trusted, "203.0.113.5"},
		{"untrusted peer ignores XFF", "203.0.113.5:4242", []string{"1.2.3.4"}, trusted, "203.0.113.5"},
		{"nothing trusted ignores XFF", "127.0.0.1:1", []string{"1.2.3.4"}, nil, "127.0.0.1"},
		{"trusted peer without XFF", "10.1.2.3:80", nil, trusted, "10.1.2.3"},
		{"trusted peer, one hop", "10.1.2.3:80", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
		{"trusted chain", "127.0.0.1:80", []string{"198.51.100.9, 10.0.0.2, 10.9.9.9"}, trusted, "198.51.100.9"},
		{"spoofed left part ignored", "10.0.0.1:80", []string{"6.6.6.6, 198.51.100.9"}, trusted, "198.51.100.9"},
		{"right-most untrusted wins", "10.0.0.1:80", []string{"1.1.1.1, 2.2.2.2, 10.0.0.7"}, trusted, "2.2.2.2"},
		{"several headers", "10.0.0.1:80", []string{"6.6.6.6", "198.51.100.9, 10.0.0.3"}, trusted, "198.51.100.9"},
		{"all trusted", "10.0.0.1:80", []string{"10.0.0.5, 10.0.0.6"}, trusted, "10.0.0.5"},
		{"garbage after trusted hop", "10.0.0.1:80", []string{"1.2.3.4, <script>, 10.0.0.8"}, trusted, "10.0.0.8"},
		{"garbage right away", "10.0.0.1:80", []string{"unknown"}, trusted, "10.0.0.1"},
		{"garbage further left is never read", "10.0.0.1:80", []string{"junk, 198.51.100.9"}, trusted, "198.51.100.9"},
		{"empty elements skipped", "10.0.0.1:80", []string{" , 198.51.100.9 ,, "}, trusted, "198.51.100.9"},
		{"XFF with ports", "10.0.0.1:80", []string{"198.51.100.9:5555"}, trusted, "198.51.100.9"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, trusted, "2001:db8::1"},
		{"IPv6 untrusted peer ignores XFF", "[2001:db8::1]:443", []string{"1.2.3.4"}, trusted, "2001:db8::1"},
		{"IPv6 trusted peer", "[fd00::1]:443", []string{"2001:db8::beef"}, trusted, "2001:db8::beef"},
		{"IPv6 bracketed XFF", "[fd00::1]:443", []string{"[2001:db8::beef]:1234"}, trusted, "2001:db8::beef"},
		{"IPv6 bracketed XFF, no port", "[fd00::1]:443", []string{"[2001:db8::beef]"}, trusted, "2001:db8::beef"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.1]:80", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
		{"IPv4-mapped client", "10.0.0.1:80", []string{"::ffff:198.51.100.9"}, trusted, "198.51.100.9"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, trusted, "fe80::1"},
		{"remote without port", "203.0.113.5", nil, trusted, "203.0.113.5"},
		{"remote not an address", "@", nil, trusted, "@"},
		{"remote host:port not an address", "localhost:80", nil, trusted, "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tc.trusted); got != tc.want {
				t.Errorf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.1.2.3/8,127.0.0.1\n::1  fd00::/8, ::ffff:192.168.0.0/112,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "127.0.0.1/32", "::1/128", "fd00::/8", "192.168.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, w := range want {
		if got[i].String() != w {
			t.Errorf("[%d] = %v, want %s", i, got[i], w)
		}
	}
	if p, err := ParseTrustedProxies("  "); err != nil || p != nil {
		t.Errorf("empty: %v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.local", "10.0.0.1, nope", "fe80::1%eth0", "::ffff:0:0/80"} {
		_, err := ParseTrustedProxies(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("%q: error %q", bad, err)
		}
	}
}

func TestIPKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.5":          "203.0.113.5",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::9":      "2001:db8:1:2::/64",
		"::1":                  "::/64",
		"not-an-ip":            "not-an-ip",
	} {
		if got := IPKey(in); got != want {
			t.Errorf("IPKey(%q) = %q, want %q", in, got, want)
		}
	}
}

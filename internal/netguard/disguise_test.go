package netguard

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDialLoopbackInDisguiseReal plays an agent that wants the host's
// loopback services (the control plane, a local database) through the
// proxy, with the default policy, the system resolver and the default
// dial, against a real listener on 127.0.0.1 (and ::1 where the host has
// it). Every spelling of loopback it tries fails and the listener never
// sees a connection: names that resolve to it (localhost in any case,
// with a trailing dot), IP literals with a trailing dot or an IPv6 zone,
// the IPv4-mapped, -compatible, NAT64 and 6to4 forms, the unspecified
// addresses (which Linux routes to the local host), and the numeric
// shortcuts a C resolver turns into 127.0.0.1 (127.1, 2130706433,
// 0x7f000001, 0177.0.0.1), refused whichever resolver reads them.
func TestDialLoopbackInDisguiseReal(t *testing.T) {
	var accepted atomic.Int64
	listen := func(network, addr string) (string, bool) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return "", false
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		return port, true
	}
	port, _ := listen("tcp4", "127.0.0.1:0")
	if port == "" {
		t.Fatal("no loopback listener")
	}
	// The same port on ::1 when the host has IPv6 loopback.
	_, v6 := listen("tcp6", "[::1]:"+port)

	blocked := []string{
		"127.0.0.1", "localhost", "LOCALHOST", "LocalHost",
		"0.0.0.0", "[::]", "[::1]", "[::1%lo]", "[fe80::1%lo]",
		"[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::ffff:0:7f00:1]",
	}
	refused := []string{"localhost.", "LocalHost.", "127.0.0.1.", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0", "127.0.0.1%00.example.com", "localhost%2e"}
	d := &Dialer{} // the default policy, resolver and dial
	var wg sync.WaitGroup
	try := func(host string, wantBlocked bool) {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(trimBrackets(host), port))
		if err == nil {
			conn.Close()
			t.Errorf("%s: dialled the loopback listener", host)
			return
		}
		var be *BlockedError
		if wantBlocked && !errors.As(err, &be) {
			t.Errorf("%s: err = %v, want *BlockedError", host, err)
		}
	}
	for _, h := range blocked {
		wg.Add(1)
		go try(h, true)
	}
	for _, h := range refused {
		wg.Add(1)
		go try(h, false)
	}
	wg.Wait()
	if n := accepted.Load(); n != 0 {
		t.Errorf("the loopback listener accepted %d connections (IPv6 loopback: %v)", n, v6)
	}
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

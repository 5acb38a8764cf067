package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// holdListener accepts connections and keeps them, with no goroutine per
// connection, so that goroutine counts in the test are the proxy's own.
// It answers nothing; it reads what each connection sent first.
func holdListener(t *testing.T) (port int, got chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got = make(chan []byte, 1024)
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, 64)
			n, _ := c.Read(b)
			got <- b[:n]
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port, got
}

// An open blind tunnel costs the proxy two goroutines (one per
// direction) and nothing else that waits: the CONNECT handler returns
// (freeing the HTTP server's per-connection buffers) and the
// authorization recheck runs from a timer. It used to be four: the
// handler, two copiers and a recheck loop. Bytes the agent sends in the
// same write as the CONNECT still reach the target first.
func TestBlindTunnelsCostTwoGoroutines(t *testing.T) {
	e := newEnv(t, true)
	e.setup(nil)
	tok := e.agent("bot", "proxy")
	port, got := holdListener(t)
	settle := func() int {
		// Goroutines that are ending finish within moments; wait until
		// the count stops moving (the deadline only stops a hang).
		prev := runtime.NumGoroutine()
		for i := 0; i < 200; i++ {
			time.Sleep(20 * time.Millisecond)
			cur := runtime.NumGoroutine()
			if cur == prev {
				return cur
			}
			prev = cur
		}
		return prev
	}
	before := settle()
	const n = 25
	for i := range n {
		c := dialProxy(t, e)
		target := "tunnel.test:" + strconv.Itoa(port)
		hello := "hello-" + strconv.Itoa(i)
		// The CONNECT and the first bytes of the tunnel in one write.
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n%s", target, target, basicAuth(tok), hello)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT: %v %v", resp, err)
		}
		select {
		case b := <-got:
			if string(b) != hello {
				t.Fatalf("the target got %q first, want %q", b, hello)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the target got nothing")
		}
	}
	after := settle()
	if per := float64(after-before) / n; per > 2.2 {
		t.Fatalf("%d open blind tunnels hold %d goroutines (%.1f each), want 2 each", n, after-before, per)
	}
}

package proxy

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair is a connected pair of loopback TCP connections.
func tcpPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-acc
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// wrapped hides the socket behind a wrapper, as the proxy's connection
// tracking does; copyTunnel must find it through NetConn.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

// opaque hides the socket with no way to reach it: copyTunnel falls back
// to reading with a buffer held.
type opaque struct{ net.Conn }

// copyTunnel delivers every byte, in order, whatever the sizes and the
// way the source is wrapped, and reports the count; the source's EOF is
// not an error.
func TestCopyTunnelCarriesEverything(t *testing.T) {
	sizes := []int{0, 1, 511, tunnelBufSize - 1, tunnelBufSize, tunnelBufSize + 1, 3*tunnelBufSize + 17, 1 << 20}
	wraps := map[string]func(net.Conn) net.Conn{
		"socket":  func(c net.Conn) net.Conn { return c },
		"wrapped": func(c net.Conn) net.Conn { return wrapped{c} },
		"opaque":  func(c net.Conn) net.Conn { return opaque{c} },
	}
	for name, wrap := range wraps {
		for _, size := range sizes {
			t.Run(name+"/"+itoa(size), func(t *testing.T) {
				// writer → srcW … srcR → copyTunnel → dstW … dstR → reader
				srcW, srcR := tcpPair(t)
				dstW, dstR := tcpPair(t)
				want := make([]byte, size)
				_, _ = rand.Read(want)
				go func() {
					// Uneven writes with pauses, so that reads come short.
					for off, step := 0, 1; off < len(want); step = step*7%65521 + 1 {
						end := min(off+step, len(want))
						_, _ = srcW.Write(want[off:end])
						off = end
						if step%5 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
					srcW.(*net.TCPConn).CloseWrite()
				}()
				type result struct {
					n   int64
					err error
				}
				done := make(chan result, 1)
				go func() {
					n, err := copyTunnel(dstW, wrap(srcR))
					dstW.(*net.TCPConn).CloseWrite()
					done <- result{n, err}
				}()
				got, err := io.ReadAll(dstR)
				if err != nil {
					t.Fatal(err)
				}
				r := <-done
				if r.err != nil || r.n != int64(size) {
					t.Fatalf("copyTunnel = %d, %v; want %d, nil", r.n, r.err, size)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("got %d bytes, not the %d sent", len(got), len(want))
				}
			})
		}
	}
}

// A tunnel on which nothing moves holds no copy buffer: ten thousand
// idle tunnels must not pin 64 KiB each. Before the change every
// direction of every tunnel held a 32 KiB buffer for its whole life.
func TestIdleTunnelsHoldNoCopyBuffer(t *testing.T) {
	const n = 20
	base := tunnelBufsOut.Load()
	var readers []net.Conn
	for range n {
		srcW, srcR := tcpPair(t)
		dstW, dstR := tcpPair(t)
		go func() { _, _ = copyTunnel(dstW, wrapped{srcR}) }()
		// The tunnel carries a handshake's worth of bytes, or exactly a
		// buffer's worth (a full read that is nonetheless the last),
		// then idles.
		size := 6000
		if len(readers)%2 == 1 {
			size = tunnelBufSize
		}
		if _, err := srcW.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(dstR, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, dstR)
	}
	// The copier gives its buffer back right after its last write; wait
	// for that (the deadline only stops a broken build from hanging).
	deadline := time.Now().Add(10 * time.Second)
	for tunnelBufsOut.Load() > base && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if held := tunnelBufsOut.Load() - base; held > 0 {
		t.Fatalf("%d idle tunnel directions still hold a copy buffer", held)
	}
	_ = readers
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// BenchmarkTunnelCopy compares copyTunnel with io.Copy (what tunnels used
// before) on a loopback TCP stream: bytes/s of one direction of a blind
// tunnel.
func BenchmarkTunnelCopy(b *testing.B) {
	for _, tc := range []struct {
		name string
		cp   func(dst, src net.Conn) (int64, error)
	}{
		{"copyTunnel", func(dst, src net.Conn) (int64, error) { return copyTunnel(dst, wrapped{src}) }},
		{"io.Copy", func(dst, src net.Conn) (int64, error) { return io.Copy(dst, opaque{src}) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srcW, srcR := tcpPairB(b)
			dstW, dstR := tcpPairB(b)
			const chunk = 1 << 20
			go func() { _, _ = tc.cp(dstW, srcR); dstW.Close() }()
			go func() { _, _ = io.Copy(io.Discard, dstR) }()
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := srcW.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			srcW.Close()
		})
	}
}

func tcpPairB(b *testing.B) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := <-acc
	b.Cleanup(func() { a.Close(); c.Close() })
	return a, c
}

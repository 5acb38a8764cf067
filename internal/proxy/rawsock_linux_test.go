package proxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// wrappedPair is tcpPair (tunnelcopy_test.go) with a wrapped by wrap;
// b stays a plain *net.TCPConn.
func wrappedPair(t *testing.T, wrap func(net.Conn) net.Conn) (a net.Conn, b *net.TCPConn) {
	t.Helper()
	x, y := tcpPair(t)
	return wrap(x), y.(*net.TCPConn)
}

// connKinds are the two implementations that must behave alike: what the
// proxy used before, and rawSock.
var connKinds = []struct {
	name string
	wrap func(net.Conn) net.Conn
}{
	{"net.TCPConn", func(c net.Conn) net.Conn { return c }},
	{"rawSock", rawSocket},
}

func TestRawSocketWrapsOnlyTCP(t *testing.T) {
	a, _ := wrappedPair(t, rawSocket)
	if _, ok := a.(*rawSock); !ok {
		t.Fatalf("rawSocket(TCP) = %T, want *rawSock", a)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := rawSocket(p1); got != p1 {
		t.Fatalf("rawSocket(pipe) = %T, want the pipe itself", got)
	}
	// What the proxy needs of the socket underneath stays reachable.
	if _, ok := a.(syscall.Conn); !ok {
		t.Fatal("rawSock hides SyscallConn (tunnel copies wait on the socket through it)")
	}
	if _, ok := a.(interface{ CloseWrite() error }); !ok {
		t.Fatal("rawSock hides CloseWrite (blind tunnels half-close)")
	}
}

// TestRawSockBehavesAsTCPConn runs each case against a plain TCP
// connection and against rawSock: the bytes, the errors and the error
// classes the proxy's callers test for (io.EOF, timeouts, closed
// connections, resets) must be the same.
func TestRawSockBehavesAsTCPConn(t *testing.T) {
	for _, k := range connKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Run("round trip and EOF", func(t *testing.T) {
				a, b := wrappedPair(t, k.wrap)
				if n, err := a.Write([]byte("hello")); n != 5 || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				got := make([]byte, 5)
				if _, err := io.ReadFull(b, got); err != nil || string(got) != "hello" {
					t.Fatalf("peer read %q, %v", got, err)
				}
				if _, err := b.Write([]byte("back")); err != nil {
					t.Fatal(err)
				}
				b.CloseWrite()
				all, err := io.ReadAll(a)
				if err != nil || string(all) != "back" {
					t.Fatalf("ReadAll = %q, %v; want \"back\" and a clean EOF", all, err)
				}
				if n, err := a.Read(make([]byte, 8)); n != 0 || err != io.EOF {
					t.Fatalf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
				}
			})
			t.Run("empty read and write", func(t *testing.T) {
				a, _ := wrappedPair(t, k.wrap)
				if n, err := a.Read(nil); n != 0 || err != nil {
					t.Fatalf("Read(nil) = %d, %v", n, err)
				}
				if n, err := a.Write(nil); n != 0 || err != nil {
					t.Fatalf("Write(nil) = %d, %v", n, err)
				}
			})
			t.Run("large write to a slow reader", func(t *testing.T) {
				// Far more than the socket buffers hold: the writer must
				// wait for room (EAGAIN, then the poller) and go on
				// where it stopped, losing and repeating nothing.
				a, b := wrappedPair(t, k.wrap)
				want := make([]byte, 4<<20)
				rand.Read(want)
				var got bytes.Buffer
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 7000)
					for {
						n, err := b.Read(buf)
						got.Write(buf[:n])
						if err != nil {
							return
						}
						time.Sleep(50 * time.Microsecond)
					}
				}()
				n, err := a.Write(want)
				if n != len(want) || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
				}
				a.(interface{ CloseWrite() error }).CloseWrite()
				wg.Wait()
				if !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("the peer received %d bytes that differ from the %d written", got.Len(), len(want))
				}
			})
			t.Run("read deadline", func(t *testing.T) {
				a, _ := wrappedPair(t, k.wrap)
				a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				_, err := a.Read(make([]byte, 8))
				var ne net.Error
				if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
					t.Fatalf("Read past the deadline = %v; want a timeout", err)
				}
				var oe *net.OpError
				if !errors.As(err, &oe) || oe.Op != "read" {
					t.Fatalf("error %v: want a *net.OpError for \"read\"", err)
				}
				// The deadline lifted, the connection reads again.
				a.SetReadDeadline(time.Time{})
			})
			t.Run("write deadline with a peer that never reads", func(t *testing.T) {
				a, _ := wrappedPair(t, k.wrap)
				big := make([]byte, 64<<20)
				a.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
				n, err := a.Write(big)
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Write = %d, %v; want a timeout", n, err)
				}
				if n <= 0 || n >= 64<<20 {
					t.Fatalf("Write reported %d bytes written; want the part the socket took", n)
				}
				var oe *net.OpError
				if !errors.As(err, &oe) || oe.Op != "write" {
					t.Fatalf("error %v: want a *net.OpError for \"write\"", err)
				}
			})
			t.Run("closed while a read waits", func(t *testing.T) {
				a, _ := wrappedPair(t, k.wrap)
				errc := make(chan error, 1)
				go func() {
					_, err := a.Read(make([]byte, 8))
					errc <- err
				}()
				time.Sleep(20 * time.Millisecond) // lets the read park; closing first must give the same error
				a.Close()
				select {
				case err := <-errc:
					if !errors.Is(err, net.ErrClosed) {
						t.Fatalf("Read on a closed connection = %v; want net.ErrClosed", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("a read waiting on the poller did not end when the connection closed")
				}
				if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Write after Close = %v; want net.ErrClosed", err)
				}
			})
			t.Run("reset by the peer", func(t *testing.T) {
				a, b := wrappedPair(t, k.wrap)
				b.SetLinger(0) // close with RST
				if _, err := a.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
				b.Close()
				a.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := a.Read(make([]byte, 8)) // waits for the reset if it has not arrived yet
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("Read after the peer's reset = %v; want ECONNRESET", err)
				}
			})
		})
	}
}

func TestPeekNoWait(t *testing.T) {
	a, b := wrappedPair(t, func(c net.Conn) net.Conn { return c })
	rc, err := a.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	arrived := func() { // until something is there to read, taking nothing
		if err := waitReadable(rc, func() {}); err != nil {
			t.Fatal(err)
		}
	}
	peek := func() (n int, errno syscall.Errno) {
		rc.Read(func(fd uintptr) bool { n, errno = peekNoWait(fd); return true })
		return
	}
	if n, errno := peek(); n != -1 || errno != syscall.EAGAIN {
		t.Fatalf("nothing sent: peek = %d, %v; want -1, EAGAIN", n, errno)
	}
	b.Write([]byte("ab"))
	arrived()
	for range 2 { // a peek takes nothing
		if n, errno := peek(); n != 1 || errno != 0 {
			t.Fatalf("bytes waiting: peek = %d, %v; want 1, 0", n, errno)
		}
	}
	got := make([]byte, 2)
	if _, err := io.ReadFull(a, got); err != nil || string(got) != "ab" {
		t.Fatalf("read after peeking = %q, %v", got, err)
	}
	b.CloseWrite()
	arrived()
	if n, errno := peek(); n != 0 || errno != 0 {
		t.Fatalf("end of stream: peek = %d, %v; want 0, 0", n, errno)
	}
}

// TestRawSockAllocatesNothing: a read and a write cost no allocation, as
// on net.TCPConn (they run for every request both ways).
func TestRawSockAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts do not hold under the race detector")
	}
	a, b := wrappedPair(t, rawSocket)
	peer := rawSocket(b)
	msg, buf := []byte("x"), make([]byte, 1)
	n := testing.AllocsPerRun(200, func() {
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(peer, buf); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("a write and a read on rawSock allocated %v times; want 0", n)
	}
}

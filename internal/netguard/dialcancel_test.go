package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// blockingResolver answers nothing until its context ends; started is
// closed when it is called.
type blockingResolver struct{ started chan struct{} }

func (r blockingResolver) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	close(r.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

// A caller giving up ends a lookup in progress: the caller's context
// reaches the resolver.
func TestDialCancelEndsLookup(t *testing.T) {
	res := blockingResolver{started: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-res.started
		cancel()
	}()
	err := dialReturns(t, ctx, &Dialer{Resolver: res}, "slow-dns.example:443")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// A caller giving up ends the default dial's connect in progress, rather
// than leaving it to DefaultDialTimeout (the error would then be a
// timeout, not context.Canceled).
func TestDialCancelEndsConnectInProgress(t *testing.T) {
	addr := unansweredAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	// A moment for the connect to start; were it cancelled sooner, the
	// dial would also end with context.Canceled.
	stop := time.AfterFunc(100*time.Millisecond, cancel)
	defer stop.Stop()
	d := &Dialer{Policy: Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	err := dialReturns(t, ctx, d, addr)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// The default dial's connection is the socket itself: read deadlines
// and Close end a read in progress.
func TestDialedConnHonoursDeadlinesAndClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// Accept and say nothing, until the test ends.
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	d := &Dialer{Policy: Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	conn, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := readReturns(t, conn); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	stop := time.AfterFunc(50*time.Millisecond, func() { conn.Close() })
	defer stop.Stop()
	if _, err := readReturns(t, conn); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed conn: %v, want net.ErrClosed", err)
	}
}

// dialReturns dials address, which must fail, and fails the test if the
// dial does not return within a generous bound.
func dialReturns(t *testing.T, ctx context.Context, d *Dialer, address string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		conn, err := d.DialContext(ctx, "tcp", address)
		if conn != nil {
			conn.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the dial succeeded")
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the dial did not return after its context was cancelled")
	}
	return nil
}

func readReturns(t *testing.T, conn net.Conn) (int, error) {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := conn.Read(make([]byte, 16))
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("the read never returned")
	}
	return 0, nil
}

// unansweredAddr is a loopback address whose connects hang: a listening
// socket with a backlog of 0 that never accepts, its queue filled first
// (Linux then drops further SYNs instead of refusing them).
func unansweredAddr(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("relies on Linux dropping SYNs to a full accept queue")
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.CloseOnExec(fd)
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue: connects succeed until one does not.
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the loopback listener's queue never filled")
	return ""
}

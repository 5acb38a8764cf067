package oauth

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// A token endpoint that never finishes its answer (it holds the request,
// sends headers and stalls, or trickles a byte every 100 ms for ever)
// costs the vault one request of Client.Timeout at most: the call
// returns a timeout error without a secret, the endpoint sees the vault
// go away, the connection is closed, and no goroutine of the client is
// left behind. Over HTTP/1.1 and HTTP/2.
func TestStallingTokenEndpoints(t *testing.T) {
	const clientSecret, refresh = "the-client-secret", "the-refresh-token"
	partial := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"access_token":"`)
		http.NewResponseController(w).Flush()
	}
	cases := []struct {
		name string
		hold func(w http.ResponseWriter, r *http.Request)
	}{
		{"holds the request until the client goes away", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
		{"sends headers then stalls the body", func(w http.ResponseWriter, r *http.Request) {
			partial(w)
			<-r.Context().Done()
		}},
		{"trickles a byte every 100ms for ever", func(w http.ResponseWriter, r *http.Request) {
			partial(w)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-r.Context().Done():
					return
				case <-tick.C:
				}
				if _, err := io.WriteString(w, "a"); err != nil {
					<-r.Context().Done()
					return
				}
				if err := http.NewResponseController(w).Flush(); err != nil {
					<-r.Context().Done()
					return
				}
			}
		}},
	}
	for _, c := range cases {
		for _, h2 := range []bool{false, true} {
			name := c.name + "/http1"
			if h2 {
				name = c.name + "/http2"
			}
			t.Run(name, func(t *testing.T) {
				ep := startStallingEndpoint(t, h2, c.hold)
				cl := &Client{Dialer: loopbackDialer(), RootCAs: ep.pool, Timeout: 500 * time.Millisecond}
				req := Request{Config: Config{TokenURL: ep.srv.URL + "/token", ClientID: "c", ClientSecret: secret.FromString(clientSecret)},
					Grant: GrantRefreshToken, RefreshToken: secret.FromString(refresh)}
				err := tokenReturns(t, context.Background(), cl, req)
				var e *Error
				if !errors.As(err, &e) || e.Kind != ErrUnreachable {
					t.Fatalf("got %v, want kind %s", err, ErrUnreachable)
				}
				if !strings.Contains(err.Error(), "did not answer in full within 500ms") {
					t.Errorf("the error does not say the endpoint did not answer in time: %v", err)
				}
				for _, s := range []string{clientSecret, refresh} {
					if strings.Contains(err.Error(), s) {
						t.Fatalf("the error holds a secret: %v", err)
					}
				}
				if !e.Temporary() || e.Hint() == "" {
					t.Errorf("temporary %v, hint %q", e.Temporary(), e.Hint())
				}
				ep.waitGone(t)
				ep.waitClosed(t)
				waitNoClientConns(t)
			})
		}
	}
}

// A token endpoint that accepts the TCP connection and never completes
// the TLS handshake is dropped when the request ends, by the Client's
// Timeout or by the caller, and sees the connection closed: the
// handshake does not go on in the background after the request gave up.
func TestTokenEndpointStallingTLSHandshake(t *testing.T) {
	for _, c := range []struct {
		name    string
		timeout time.Duration
		cancel  bool // the caller cancels once the endpoint has the connection
		detail  string
	}{
		{"the Client's timeout", 500 * time.Millisecond, false, "did not answer in full within 500ms"},
		{"the caller cancels", time.Hour, true, "cancelled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			accepted, gone := make(chan struct{}), make(chan struct{})
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				close(accepted)
				// Read the ClientHello and say nothing, until the client
				// hangs up.
				_, _ = io.Copy(io.Discard, conn)
				close(gone)
			}()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.cancel {
				go func() {
					<-accepted
					cancel()
				}()
			}
			cl := &Client{Dialer: loopbackDialer(), Timeout: c.timeout}
			err = tokenReturns(t, ctx, cl, Request{Config: Config{TokenURL: "https://" + ln.Addr().String() + "/token", ClientID: "c", ClientSecret: secret.FromString("s3cret")},
				Grant: GrantClientCredentials})
			var e *Error
			if !errors.As(err, &e) || e.Kind != ErrUnreachable || !strings.Contains(e.Detail, c.detail) {
				t.Fatalf("got %v, want %q", err, c.detail)
			}
			select {
			case <-gone:
			case <-time.After(10 * time.Second):
				t.Fatal("the endpoint never saw the connection closed: the handshake went on after the request ended")
			}
			waitNoClientConns(t)
		})
	}
}

// A token request that succeeds leaves no connection open either (over
// HTTP/2 a pooled connection would stay, with its goroutines, for the
// idle timeout).
func TestTokenRequestLeavesNoConnection(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run("http2="+strconv.FormatBool(h2), func(t *testing.T) {
			ep := startStallingEndpoint(t, h2, func(w http.ResponseWriter, r *http.Request) {
				if r.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] {
					t.Errorf("the request came over %s", r.Proto)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"access_token":"at","expires_in":3600}`)
			})
			cl := &Client{Dialer: loopbackDialer(), RootCAs: ep.pool}
			tok, err := cl.Token(context.Background(), Request{Config: Config{TokenURL: ep.srv.URL + "/token", ClientID: "c", ClientSecret: secret.FromString("s3cret")}, Grant: GrantClientCredentials})
			if err != nil || string(tok.Access.Reveal()) != "at" {
				t.Fatalf("token %q, err %v", tok.Access.Reveal(), err)
			}
			ep.waitClosed(t)
			waitNoClientConns(t)
		})
	}
}

// The caller's own deadline or cancellation ends a token request too, and
// is told apart from the Client's Timeout.
func TestTokenRequestEndsWithCallerContext(t *testing.T) {
	ep := startStallingEndpoint(t, false, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	cl := &Client{Dialer: loopbackDialer(), RootCAs: ep.pool, Timeout: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		_, err := cl.Token(ctx, Request{Config: Config{TokenURL: ep.srv.URL + "/token", ClientID: "c", ClientSecret: secret.FromString("s3cret")}, Grant: GrantClientCredentials})
		done <- result{err}
	}()
	ep.waitArrived(t)
	cancel()
	var got result
	select {
	case got = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Token did not return after its context was cancelled")
	}
	var e *Error
	if !errors.As(got.err, &e) || e.Kind != ErrUnreachable || e.Detail != "cancelled" {
		t.Fatalf("got %v, want cancelled", got.err)
	}
	ep.waitGone(t)
	ep.waitClosed(t)
}

// stallingEndpoint is a TLS token endpoint on 127.0.0.1 that reads the
// whole request and then runs hold. It records when a handler saw its
// request's context end (the client went away) and the connections it
// accepted and closed.
type stallingEndpoint struct {
	srv     *httptest.Server
	pool    *x509.CertPool
	arrived chan struct{}
	gone    chan struct{}

	mu             sync.Mutex
	opened, closed int
}

func startStallingEndpoint(t *testing.T, h2 bool, hold func(http.ResponseWriter, *http.Request)) *stallingEndpoint {
	t.Helper()
	ep := &stallingEndpoint{arrived: make(chan struct{}, 16), gone: make(chan struct{}, 16)}
	ep.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// net/http notices a client hanging up (and ends r.Context) only
		// once the request body has been read: read it first.
		_, _ = io.Copy(io.Discard, r.Body)
		ep.arrived <- struct{}{}
		hold(w, r)
		if r.Context().Err() != nil {
			ep.gone <- struct{}{}
		}
	}))
	ep.srv.EnableHTTP2 = h2
	ep.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		ep.mu.Lock()
		defer ep.mu.Unlock()
		switch s {
		case http.StateNew:
			ep.opened++
		case http.StateClosed, http.StateHijacked:
			ep.closed++
		}
	}
	ep.srv.StartTLS()
	ep.pool = ep.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	t.Cleanup(ep.srv.Close)
	return ep
}

func (ep *stallingEndpoint) waitArrived(t *testing.T) {
	t.Helper()
	select {
	case <-ep.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the token request never reached the endpoint")
	}
}

// waitGone waits for a handler to see the client go away.
func (ep *stallingEndpoint) waitGone(t *testing.T) {
	t.Helper()
	select {
	case <-ep.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the endpoint never saw the client go away: the request was not cancelled")
	}
}

// waitClosed waits until every connection the endpoint accepted is
// closed, while the endpoint is still up (so that only the client can
// have closed them).
func (ep *stallingEndpoint) waitClosed(t *testing.T) {
	t.Helper()
	open := func() (int, int) { ep.mu.Lock(); defer ep.mu.Unlock(); return ep.opened, ep.closed }
	for end := time.Now().Add(10 * time.Second); ; {
		o, c := open()
		if o > 0 && o == c {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%d of the %d connections the client opened are still open", o-c, o)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tokenReturns runs one token request, which must fail, and fails the
// test if it does not return within a generous bound.
func tokenReturns(t *testing.T, ctx context.Context, cl *Client, req Request) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := cl.Token(ctx, req)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the token request succeeded")
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Token did not return: the Client's Timeout did not end the request")
	}
	return nil
}

// clientConnFrames name the goroutines an http.Transport keeps per open
// client connection (HTTP/1.1 and HTTP/2).
var clientConnFrames = []string{"net/http.(*persistConn)", "net/http.(*http2ClientConn)", "net/http.(*http2clientConnReadLoop)"}

// waitNoClientConns waits until no goroutine of an HTTP client
// connection is left in the process (the tests of this package do not
// run in parallel).
func waitNoClientConns(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	var left string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		stacks := string(buf[:runtime.Stack(buf, true)])
		left = ""
		for _, g := range strings.Split(stacks, "\n\n") {
			for _, f := range clientConnFrames {
				if strings.Contains(g, f) {
					left = g
				}
			}
		}
		if left == "" {
			return
		}
	}
	t.Fatalf("a client connection's goroutine is left:\n%s", left)
}

func loopbackDialer() *netguard.Dialer {
	return &netguard.Dialer{Policy: netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
}

package e2e

// Streaming clients through the real binary's broker proxy: gRPC (HTTP/2
// with trailers), websockets with frame substitution, and server-sent
// events that must not be buffered.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	pxGRPCKey  = "grpc_e2e_SECRET_44c1f0aa9e"
	pxWSToken  = "ws_e2e_BEARER_91b2d7c3"
	pxWSSecret = "ws_e2e_FRAME_SECRET_0d6e8f"
	pxSSEKey   = "sse_e2e_BEARER_5a5a17"
)

// pxGRPCUpstream is a TLS gRPC server (its own CA) with the health
// service, whose interceptors demand "authorization: Bearer pxGRPCKey",
// answer with a header and a trailer, and record what they saw.
type pxGRPCUpstream struct {
	port   int
	health *health.Server
	mu     sync.Mutex
	auths  [][]string // the authorization metadata of each call
}

func (g *pxGRPCUpstream) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	g.mu.Lock()
	g.auths = append(g.auths, md.Get("authorization"))
	g.mu.Unlock()
	if a := md.Get("authorization"); len(a) != 1 || a[0] != "Bearer "+pxGRPCKey {
		return status.Error(codes.Unauthenticated, "upstream: wrong or missing credential")
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-upstream-verdict", "authorized"))
	return nil
}

func pxStartGRPC(t *testing.T, ca *pxCA) *pxGRPCUpstream {
	t.Helper()
	g := &pxGRPCUpstream{health: health.NewServer()}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{ca.leaf(t)}, MinVersion: tls.VersionTLS12})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := g.check(ctx); err != nil {
				return nil, err
			}
			resp, err := h(ctx, req)
			_ = grpc.SetTrailer(ctx, metadata.Pairs("x-upstream-trailer", "unary-done"))
			return resp, err
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := g.check(ss.Context()); err != nil {
				return err
			}
			ss.SetTrailer(metadata.Pairs("x-upstream-trailer", "stream-done"))
			return h(srv, ss)
		}),
	)
	healthpb.RegisterHealthServer(srv, g.health)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return g
}

func TestProxyGRPC(t *testing.T) {
	t.Parallel()
	ca := pxNewCA(t)
	g := pxStartGRPC(t, ca)
	g.health.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	b := pxStart(t, pxOpts{ca: ca})
	b.creds("", map[string]string{"GRPC_KEY": pxGRPCKey})
	b.services("", `services:
  - name: grpc
    host: localhost:`+strconv.Itoa(g.port)+`
    auth: {type: bearer, token: GRPC_KEY}
`)
	tok := b.agent("bot")
	// The passthrough resolver hands "localhost:<port>" to the dialer, so
	// the CONNECT target and the TLS server name agree.
	conn, err := grpc.NewClient("passthrough:///localhost:"+strconv.Itoa(g.port),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: b.caPool})),
		grpc.WithContextDialer(b.dialer(tok, "default")),
		grpc.WithNoProxy(),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var header, trailer metadata.MD
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"}, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatalf("unary Check through the proxy: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status %v", resp.GetStatus())
	}
	if v := header.Get("x-upstream-verdict"); len(v) != 1 || v[0] != "authorized" {
		t.Errorf("response header x-upstream-verdict = %q (headers %v)", v, header)
	}
	if v := trailer.Get("x-upstream-trailer"); len(v) != 1 || v[0] != "unary-done" {
		t.Errorf("trailer x-upstream-trailer = %q: trailers did not survive the proxy (trailers %v)", v, trailer)
	}
	// An error status travels in trailers too.
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no-such-service"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check(no-such-service) = %v, want NotFound carried in the trailers", err)
	}

	// Server streaming: each update arrives as it is sent.
	stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch first message: %v %v", first, err)
	}
	g.health.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	second, err := stream.Recv()
	if err != nil || second.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch second message: %v %v", second, err)
	}
	sh, err := stream.Header()
	if err != nil || len(sh.Get("x-upstream-verdict")) != 1 {
		t.Errorf("stream header %v %v", sh, err)
	}
	cancel()

	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.auths) != 3 {
		t.Fatalf("upstream saw %d calls, want 3", len(g.auths))
	}
	for i, a := range g.auths {
		if len(a) != 1 || a[0] != "Bearer "+pxGRPCKey {
			t.Errorf("call %d: upstream saw authorization %q", i, a)
		}
	}
	out := fmt.Sprint(header, trailer, sh)
	b.recordClient(out)
}

func TestProxyWebSocketFrameSubstitution(t *testing.T) {
	t.Parallel()
	ca := pxNewCA(t)
	type frame struct {
		typ  websocket.MessageType
		data []byte
	}
	var (
		mu     sync.Mutex
		frames []frame
	)
	up := pxStartUpstream(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+pxWSToken {
			http.Error(w, "upstream: wrong or missing credential", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionContextTakeover})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(4 << 20)
		ctx := r.Context()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			frames = append(frames, frame{typ, data})
			mu.Unlock()
			if typ == websocket.MessageBinary {
				_ = c.Write(ctx, typ, data) // echoed verbatim
				continue
			}
			// Never echo a text frame: it may hold the real value.
			verdict := fmt.Sprintf("len=%d real=%d placeholder=%d", len(data),
				strings.Count(string(data), pxWSSecret), strings.Count(string(data), "__WS_SECRET__"))
			_ = c.Write(ctx, websocket.MessageText, []byte(verdict))
		}
	}))
	b := pxStart(t, pxOpts{ca: ca})
	b.creds("", map[string]string{"WS_TOKEN": pxWSToken, "WS_SECRET": pxWSSecret})
	b.services("", `services:
  - name: websocket
    host: localhost:`+strconv.Itoa(up.port)+`
    auth: {type: bearer, token: WS_TOKEN}
    substitutions:
      - {key: WS_SECRET, placeholder: "__WS_SECRET__", in: [websocket]}
  - name: websocket-plain
    host: 127.0.0.1:`+strconv.Itoa(up.port)+`
    auth: {type: bearer, token: WS_TOKEN}
`)
	tok := b.agent("bot")
	hc := b.client(tok, "default", false) // websockets need HTTP/1.1
	hc.Timeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "wss://"+up.hostport()+"/ws?__WS_SECRET__", &websocket.DialOptions{
		HTTPClient:      hc,
		CompressionMode: websocket.CompressionContextTakeover, // offered, and must be stripped
	})
	if err != nil {
		t.Fatalf("websocket dial through the proxy: %v", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(4 << 20)
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Errorf("the client negotiated extensions %q: frames could be compressed past substitution", ext)
	}
	hs := up.last(t)
	pxCheckInjected(t, hs, "Bearer "+pxWSToken)
	if ext := hs.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Errorf("upstream handshake carried Sec-WebSocket-Extensions %q; the proxy must strip it", ext)
	}
	if strings.Contains(hs.RawQuery, pxWSSecret) {
		t.Errorf("a websocket-only substitution was applied to the query: %q", hs.RawQuery)
	}

	big := strings.Repeat("x", 70_000) + "__WS_SECRET__" + strings.Repeat("y", 1000) // 64-bit length frame
	binMsg := []byte("bin __WS_SECRET__ \x00\x01\xff")
	sends := []struct {
		typ     websocket.MessageType
		data    []byte
		verdict string // for text: what the upstream must report
	}{
		{websocket.MessageText, []byte("auth __WS_SECRET__ please"), fmt.Sprintf("len=%d real=1 placeholder=0", len("auth  please")+len(pxWSSecret))},
		{websocket.MessageBinary, binMsg, ""},
		{websocket.MessageText, []byte("twice __WS_SECRET__/__WS_SECRET__"), fmt.Sprintf("len=%d real=2 placeholder=0", len("twice /")+2*len(pxWSSecret))},
		{websocket.MessageText, []byte("no placeholder here"), "len=19 real=0 placeholder=0"},
		{websocket.MessageText, []byte(big), fmt.Sprintf("len=%d real=1 placeholder=0", len(big)-len("__WS_SECRET__")+len(pxWSSecret))},
	}
	for i, s := range sends {
		if err := c.Write(ctx, s.typ, s.data); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		b.recordClient(string(got))
		if s.typ == websocket.MessageBinary {
			if typ != websocket.MessageBinary || string(got) != string(s.data) {
				t.Errorf("binary frame came back as %v %q, want it untouched", typ, got)
			}
			continue
		}
		if string(got) != s.verdict {
			t.Errorf("text frame %d: upstream reports %q, want %q", i, got, s.verdict)
		}
	}
	mu.Lock()
	seen := frames
	frames = nil
	mu.Unlock()
	if len(seen) != len(sends) {
		t.Fatalf("upstream got %d frames, want %d", len(seen), len(sends))
	}
	if string(seen[0].data) != "auth "+pxWSSecret+" please" {
		t.Errorf("upstream text frame %q, want the real value in place of the placeholder", seen[0].data)
	}
	if seen[1].typ != websocket.MessageBinary || string(seen[1].data) != string(binMsg) {
		t.Errorf("upstream binary frame %q, want it byte for byte as sent", seen[1].data)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")

	// A service without websocket substitutions: the upgrade still gets
	// the credential, and frames pass untouched.
	c2, _, err := websocket.Dial(ctx, "wss://127.0.0.1:"+strconv.Itoa(up.port)+"/ws", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("websocket dial to a service without substitutions: %v", err)
	}
	defer c2.CloseNow()
	pxCheckInjected(t, up.last(t), "Bearer "+pxWSToken)
	if err := c2.Write(ctx, websocket.MessageText, []byte("auth __WS_SECRET__ please")); err != nil {
		t.Fatal(err)
	}
	_, got, err := c2.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "len=25 real=0 placeholder=1"; string(got) != want {
		t.Errorf("frame through a service without websocket substitutions: upstream reports %q, want %q", got, want)
	}
	_ = c2.Close(websocket.StatusNormalClosure, "")
}

func TestProxySSEIsNotBuffered(t *testing.T) {
	t.Parallel()
	ca := pxNewCA(t)
	ack := make(chan struct{})
	up := pxStartUpstream(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+pxSSEKey {
			http.Error(w, "upstream: wrong or missing credential", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		for i := range 3 {
			fmt.Fprintf(w, "id: %d\nevent: tick\ndata: event-%d\n\n", i, i)
			w.(http.Flusher).Flush()
			// The next event is sent only once the client has seen this
			// one: a buffering proxy deadlocks here and the client times out.
			select {
			case <-ack:
			case <-time.After(10 * time.Second):
				return
			case <-r.Context().Done():
				return
			}
		}
	}))
	b := pxStart(t, pxOpts{ca: ca})
	b.creds("", map[string]string{"SSE_KEY": pxSSEKey})
	b.services("", `services:
  - name: sse
    host: localhost:`+strconv.Itoa(up.port)+`
    auth: {type: bearer, token: SSE_KEY}
`)
	tok := b.agent("bot")
	sendAck := func(t *testing.T) {
		select {
		case ack <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatal("the upstream stopped waiting for the client")
		}
	}
	for _, h2 := range []bool{false, true} {
		t.Run("h2="+strconv.FormatBool(h2), func(t *testing.T) {
			cl := b.client(tok, "default", h2)
			cl.Timeout = 0
			resp, err := cl.Get(up.url() + "/events")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header)
			}
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			for i := range 3 {
				want := "data: event-" + strconv.Itoa(i)
				deadline := time.After(3 * time.Second)
			wait:
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							t.Fatalf("stream ended before %q", want)
						}
						b.recordClient(l)
						if l == want {
							break wait
						}
					case <-deadline:
						t.Fatalf("event %d did not arrive within 3 s of being sent: the proxy buffers the stream", i)
					}
				}
				sendAck(t)
			}
			pxCheckInjected(t, up.last(t), "Bearer "+pxSSEKey)
		})
	}
}

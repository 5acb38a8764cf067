package proxy_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/redact"
)

// wsFrame encodes an unmasked server frame.
func wsServerFrame(fin bool, op byte, payload string) []byte {
	first := op
	if fin {
		first |= 0x80
	}
	b := []byte{first}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
	return append(b, payload...)
}

// wsEchoUpstream accepts a websocket by hand, echoes the client's first
// (short) frame, and echoes the handshake's Authorization header back: in one text
// frame, in a text message fragmented with the value cut between frames
// (and the second frame written in two TCP writes), in a binary frame, in
// a large frame, and as the reason of its close frame.
func wsEchoUpstream(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Echo-Authorization: "+auth+
		"\r\nSec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	// Read the client's first frame (masked, short) to echo it.
	var head [6]byte
	if _, err := io.ReadFull(brw, head[:]); err != nil {
		return
	}
	payload := make([]byte, head[1]&0x7f)
	if _, err := io.ReadFull(brw, payload); err != nil {
		return
	}
	for i := range payload {
		payload[i] ^= head[2+i%4]
	}
	cut := len(auth) / 2
	second := wsServerFrame(true, 0x0, auth[cut:]+" end")
	writes := [][]byte{
		wsServerFrame(true, 0x1, "echo "+string(payload)),
		wsServerFrame(true, 0x1, "you sent "+auth),
		wsServerFrame(false, 0x1, "split "+auth[:cut]),
		second[:5], second[5:],
		wsServerFrame(true, 0x9, "ping "+auth), // a ping the client answers; the proxy redacts it too
		wsServerFrame(true, 0x2, "binary "+auth),
		wsServerFrame(true, 0x1, strings.Repeat("x", 100_000)+auth+strings.Repeat("y", 100)),
		wsServerFrame(true, 0x8, "\x03\xe8bad "+auth),
	}
	for _, b := range writes {
		if _, err := c.Write(b); err != nil {
			return
		}
	}
	_, _ = io.Copy(io.Discard, brw) // until the client goes
}

// Websocket frames from an upstream that echoes the credential are
// redacted: whole, fragmented (value cut across frames and TCP writes),
// binary, larger than one read, in control frames, and in the 101's
// headers, and a value a websocket substitution put into the agent's own
// frame that the upstream echoes; through the plain upgrade path and
// through the path that rewrites client frames for substitutions.
func TestRedactionOfWebSocketFrames(t *testing.T) {
	e := newEnv(t, true)
	withSubs := bearer("subs", "api.test/subs/*", "API_KEY")
	withSubs.Substitutions = []apitype.Substitution{{Key: "OTHER_KEY", Placeholder: "__OTHER__", In: []string{"websocket"}}}
	e.setup(map[string]string{"API_KEY": rdBearer, "OTHER_KEY": "other-secret-value"}, bearer("plain", "api.test/plain/*", "API_KEY"), withSubs)
	e.handler.Store(http.HandlerFunc(wsEchoUpstream))
	tok := e.agent("bot", "proxy")
	for _, path := range []string{"/plain/ws", "/subs/ws"} {
		hc := e.client(tok, "default", false)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, resp, err := websocket.Dial(ctx, "wss://"+e.upstream+path, &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			cancel()
			t.Fatalf("%s: dial: %v", path, err)
		}
		c.SetReadLimit(1 << 20)
		if got := resp.Header.Get("X-Echo-Authorization"); got != "Bearer "+redact.Placeholder {
			t.Errorf("%s: 101 header %q", path, got)
		}
		// Through /subs/ws the proxy puts the other credential in place
		// of its placeholder, and the upstream echoes the frame.
		if err := c.Write(ctx, websocket.MessageText, []byte("go __OTHER__")); err != nil {
			t.Fatal(err)
		}
		echo := "echo go __OTHER__"
		if path == "/subs/ws" {
			echo = "echo go " + redact.Placeholder
		}
		want := []struct {
			typ  websocket.MessageType
			data string
		}{
			{websocket.MessageText, echo},
			{websocket.MessageText, "you sent Bearer " + redact.Placeholder},
			{websocket.MessageText, "split Bearer " + redact.Placeholder + " end"},
			{websocket.MessageBinary, "binary Bearer " + redact.Placeholder},
			{websocket.MessageText, strings.Repeat("x", 100_000) + "Bearer " + redact.Placeholder + strings.Repeat("y", 100)},
		}
		for i, w := range want {
			typ, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("%s: message %d: %v", path, i, err)
			}
			if typ != w.typ || string(data) != w.data {
				t.Errorf("%s: message %d: %v %.80q…, want %v %.80q…", path, i, typ, data, w.typ, w.data)
			}
			if strings.Contains(string(data), rdBearer) || strings.Contains(string(data), "other-secret-value") {
				t.Errorf("%s: message %d carries the credential", path, i)
			}
		}
		_, _, err = c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Reason != "bad Bearer "+redact.Placeholder {
			t.Errorf("%s: close: %v", path, err)
		}
		cancel()
		c.CloseNow()
	}
	if e.proxy.RedactionStats().WebSocket < 10 {
		t.Errorf("websocket redactions counted: %+v", e.proxy.RedactionStats())
	}
}

// A frame with a reserved bit set (compression nobody negotiated) or a
// masked frame from the upstream ends the connection instead of passing
// unscanned bytes.
func TestRedactionRefusesUnscannableWebSocketFrames(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": rdBearer}, bearer("api", "api.test", "API_KEY"))
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		frame := wsServerFrame(true, 0x1, auth)
		frame[0] |= 0x40 // RSV1: "compressed"
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n"+string(frame))
	}))
	tc, br := e.rawConnect(t, e.upstream, e.agent("bot", "proxy"), "api.test")
	_, _ = io.WriteString(tc, "GET /ws HTTP/1.1\r\nHost: "+e.upstream+"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	rest, _ := io.ReadAll(bufio.NewReader(br))
	if strings.Contains(string(rest), rdBearer) {
		t.Fatalf("an unscannable frame reached the agent: %q", rest)
	}
}

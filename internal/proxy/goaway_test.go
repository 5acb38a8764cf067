package proxy_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestUpstreamErrorsInTheLogCarryNoCredential: an HTTP/2 upstream answers
// a header and part of a body, then ends the connection with a GOAWAY
// whose debug data quotes the Authorization header it got. The broken-off
// body is logged with the transport's error (at debug level); the line
// must carry the placeholder, not the credential.
func TestUpstreamErrorsInTheLogCarryNoCredential(t *testing.T) {
	e := newEnv(t, true)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{NextProtos: []string{"h2"}, GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return e.upMinter.Leaf(h.ServerName)
	}})
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, ln, serveGoAway)
	port := ln.Addr().(*net.TCPAddr).Port
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test:"+itoa(port), "API_KEY"))
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", true)
	resp, err := c.Post("https://api.test:"+itoa(port)+"/x", "text/plain", strings.NewReader("hi"))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(b, []byte(secretValue)) {
			t.Fatal("the credential reached the agent")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logText(), "GOAWAY") {
		if time.Now().After(deadline) {
			t.Fatalf("the broken-off body was never logged:\n%s", e.logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if logs := e.logText(); strings.Contains(logs, secretValue) {
		t.Errorf("the server log holds the credential:\n%s", logs)
	}
}

// serveGoAway is the HTTP/2 upstream of
// TestUpstreamErrorsInTheLogCarryNoCredential, written with the framer:
// Go's server cannot be made to send a GOAWAY with debug data.
func serveGoAway(c net.Conn) {
	defer c.Close()
	tc := c.(*tls.Conn)
	if err := tc.Handshake(); err != nil {
		return
	}
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	_ = fr.WriteSettings()
	// Read the whole request (to its END_STREAM) before answering: a
	// request body still being written when the connection ends would
	// fail on its own, with an error that hides the GOAWAY's.
	var auth string
	var sid uint32
	for ended := false; !ended; {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			sid, ended = f.StreamID, f.StreamEnded()
			for _, hf := range f.Fields {
				if hf.Name == "authorization" {
					auth = hf.Value
				}
			}
		case *http2.DataFrame:
			ended = f.StreamID == sid && f.StreamEnded()
		}
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	_ = enc.WriteField(hpack.HeaderField{Name: "content-type", Value: "text/plain"})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: hb.Bytes(), EndHeaders: true})
	_ = fr.WriteData(sid, false, []byte("partial body"))
	_ = fr.WriteGoAway(sid, http2.ErrCodeProtocol, []byte(auth+" rejected"))
	// End the stream of bytes, then read until the proxy closes: closing
	// outright could reset the connection before the GOAWAY is read.
	_ = tc.CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.Copy(io.Discard, c)
}

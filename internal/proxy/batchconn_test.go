package proxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "batch.test"},
		DNSNames:     []string{"batch.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// batchPair is a TLS session over loopback TCP whose server side writes
// through a batchConn over a counting socket.
func batchPair(t *testing.T) (server *tls.Conn, batch *batchConn, sock *countingConn, client *tls.Conn) {
	t.Helper()
	a, b := tcpPair(t)
	sock = &countingConn{Conn: b}
	batch = &batchConn{Conn: sock}
	server = tls.Server(batch, selfSignedTLS(t))
	client = tls.Client(a, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a throwaway self-signed peer
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return server, batch, sock, client
}

// Held, a write of several TLS records reaches the socket in one system
// call, and the agent reads the same bytes; not held, each record is a
// write of its own.
func TestBatchConnGathersTheRecordsOfAWrite(t *testing.T) {
	server, batch, sock, client := batchPair(t)
	payload := make([]byte, 64<<10)
	_, _ = rand.Read(payload)

	for _, held := range []bool{true, false} {
		got := make(chan []byte, 1)
		go func() {
			b := make([]byte, len(payload))
			_, _ = io.ReadFull(client, b)
			got <- b
		}()
		before := sock.writes.Load()
		if held {
			batch.hold()
		}
		if _, err := server.Write(payload); err != nil {
			t.Fatal(err)
		}
		if held {
			if err := batch.release(); err != nil {
				t.Fatal(err)
			}
		}
		writes := sock.writes.Load() - before
		switch {
		case held && writes != 1:
			t.Errorf("held: %d socket writes for 64 KiB, want 1", writes)
		case !held && writes < 4:
			t.Errorf("not held: %d socket writes for 64 KiB, want one per record (≥ 4)", writes)
		}
		if b := <-got; !bytes.Equal(b, payload) {
			t.Errorf("held=%v: the agent read different bytes", held)
		}
	}
	if batch.buf != nil {
		t.Error("an idle connection still holds a gathering buffer")
	}
}

// More than one flush's worth is written out as it gathers, not held
// back until the release.
func TestBatchConnWritesOutLargeGathers(t *testing.T) {
	server, batch, sock, client := batchPair(t)
	payload := make([]byte, 1<<20)
	go func() { _, _ = io.Copy(io.Discard, client) }()
	before := sock.writes.Load()
	batch.hold()
	if _, err := server.Write(payload); err != nil {
		t.Fatal(err)
	}
	during := sock.writes.Load() - before
	if err := batch.release(); err != nil {
		t.Fatal(err)
	}
	if during < (1<<20)/batchFlushAt-1 {
		t.Errorf("%d socket writes while gathering 1 MiB, want about one per %d bytes", during, batchFlushAt)
	}
	if batch.buf != nil {
		t.Error("the gathering buffer outlived the release")
	}
}

// A gathered write that fails reaches whoever released the hold (the
// TLS layer saw success), and later writes fail too.
func TestBatchConnReportsAFailedGatheredWrite(t *testing.T) {
	server, batch, sock, _ := batchPair(t)
	batch.hold()
	if _, err := server.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	sock.Conn.Close()
	if err := batch.release(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("release after the socket closed: %v, want net.ErrClosed", err)
	}
	if _, err := server.Write([]byte("more")); err == nil {
		t.Fatal("a write after the socket closed succeeded")
	}
}

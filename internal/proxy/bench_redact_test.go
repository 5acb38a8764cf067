package proxy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// BenchmarkProxyRedaction measures what response redaction costs: the
// same service with redact_responses on (the default) and off, for a
// small GET (c=1, ns/op is the latency) and a 10 MiB download (MB/s),
// over HTTP/1.1 and HTTP/2. A redacted body loses its Content-Length and
// is scanned for the credential's value and encodings as it streams.
//
//	go test ./internal/proxy -run '^$' -bench ProxyRedaction -benchtime 2s
func BenchmarkProxyRedaction(b *testing.B) {
	e := newBenchProxyEnv(b, false)
	for _, redact := range []bool{true, false} {
		name := "redact"
		if !redact {
			name = "no-redact"
		}
		svc := apitype.Service{Name: "bench-upstream", Host: "127.0.0.1", Auth: apitype.ServiceAuth{Type: "bearer", Token: "BENCH_KEY"}}
		if !redact {
			svc.RedactResponses = &redact
		}
		if _, err := e.br.ReplaceServices(context.Background(), e.owner, "default", apitype.ServiceList{Services: []apitype.Service{svc}}, false); err != nil {
			b.Fatal(err)
		}
		for _, h2 := range []bool{false, true} {
			s := benchSide{name: "proxy-h1", viaProxy: true, h2: h2}
			if h2 {
				s.name = "proxy-h2"
			}
			b.Run("small-c1/"+name+"/"+s.name, func(b *testing.B) {
				c := benchClient(b, e, s, 1)
				b.ReportAllocs()
				for b.Loop() {
					if err := e.get(c, true); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("download-10MiB/"+name+"/"+s.name, func(b *testing.B) {
				c := benchClient(b, e, s, 1)
				big := strings.TrimSuffix(e.bigTarget, "/big") + "/big10"
				b.SetBytes(10 << 20)
				b.ReportAllocs()
				for b.Loop() {
					if n, err := e.fetch(c, true, big); err != nil || n != 10<<20 {
						b.Fatalf("%d bytes, %v", n, err)
					}
				}
			})
		}
	}
}

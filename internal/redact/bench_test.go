package redact

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

// benchBody is 10 MiB of JSON-like text with no value in it.
var benchBody = bytes.Repeat([]byte(`{"id":"evt_0123456789","object":"event","status":"succeeded","amount":4200},`+"\n"), 10<<20/78)

// BenchmarkReader is the redactor's own cost on a 10 MiB body read in
// 32 KiB pieces: "copy" is io.CopyBuffer alone, the others read through a
// Reader with 1 or 6 values (a bearer token; basic auth's parts and their
// encodings) or one value in 7 forms and a token (escapedForms).
func BenchmarkReader(b *testing.B) {
	buf := make([]byte, 32<<10)
	sets := map[string]*Set{
		"copy":     nil,
		"values-1": New([][]byte{[]byte("sk_live_0123456789abcdefghijklmnop")}),
		"values-6": New([][]byte{
			[]byte("sk_live_0123456789abcdefghijklmnop"), []byte("robot@example.test"), []byte("robot%40example.test"),
			[]byte("pa55/word+with=chars"), []byte("pa55%2Fword%2Bwith%3Dchars"), []byte("cm9ib3RAZXhhbXBsZS50ZXN0OnBhNTUvd29yZA=="),
		}),
		"forms-8": compile(escapedForms...), // one value in its escaped forms (anchor_test.go)
	}
	for _, name := range []string{"copy", "values-1", "values-6", "forms-8"} {
		set := sets[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(benchBody)))
			b.ReportAllocs()
			for b.Loop() {
				var src io.Reader = bytes.NewReader(benchBody)
				if set != nil {
					src = set.Reader(src)
				}
				if _, err := io.CopyBuffer(io.Discard, onlyReader{src}, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSetup is the per-request cost of compiling a set and starting a
// reader, for n values.
func BenchmarkSetup(b *testing.B) {
	for _, n := range []int{1, 6} {
		vals := make([][]byte, n)
		for i := range vals {
			vals[i] = []byte("sk_live_0123456789abcdef_" + strconv.Itoa(i))
		}
		b.Run("values-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = New(vals).Reader(bytes.NewReader(nil))
			}
		})
	}
}

type onlyReader struct{ io.Reader }

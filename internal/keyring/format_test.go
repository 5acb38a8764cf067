package keyring

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/secret"
)

// Printing a keyring or a passwordless state never shows the DEK.
func TestPrintingNeverShowsTheDEK(t *testing.T) {
	kr, st, err := New(secret.Bytes{}, DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	dek := st.Plain
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		for _, v := range []any{kr, *kr, st, &st} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, fmt.Sprint(dek)) || strings.Contains(out, fmt.Sprintf("%x", dek)) || bytes.Contains([]byte(out), dek) {
				t.Errorf("%s of %T shows the DEK: %s", verb, v, out)
			}
		}
	}
}

func TestZeroKDFParamsAreAnErrorNotAPanic(t *testing.T) {
	for _, p := range []KDFParams{{}, {Time: 1, MemoryKiB: 1024}, {Threads: 1, MemoryKiB: 1024}, {Time: 1, Threads: 1, MemoryKiB: 1 << 30}} {
		if _, _, err := New(secret.FromString("pw"), p); err == nil {
			t.Errorf("New with %+v succeeded", p)
		}
	}
}

package daemon

import (
	"strings"
	"testing"
)

func TestStartError(t *testing.T) {
	for _, c := range []struct{ log, want string }{
		{"time=x level=INFO msg=\"opening\"\nerror: cannot listen for the broker proxy on 127.0.0.1:1 (in use): pick another port with --mitm-port\n",
			"cannot listen for the broker proxy on 127.0.0.1:1 (in use): pick another port with --mitm-port"},
		{"time=x level=ERROR msg=\"migrating failed\" err=boom\ntime=y level=INFO msg=\"bye\"\n", "migrating failed (err=boom)"},
		{"panic: something\n\ngoroutine 1 [running]:\nmain.main()\n", "main.main()"},
		{"", "it printed nothing"},
	} {
		if got := startError(c.log); got != c.want {
			t.Errorf("startError(%q) = %q, want %q", c.log, got, c.want)
		}
	}
	if got := startError("error: " + strings.Repeat("é", 3000)); len(got) > 2004 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long error is not bounded: %d bytes", len(got))
	}
}

func TestLogWarnings(t *testing.T) {
	log := `time=2026-01-01T00:00:00Z level=WARN msg="PASSWORDLESS MODE: the key is stored unwrapped"
time=2026-01-01T00:00:00Z level=INFO msg="listening" addr=127.0.0.1:1
time=2026-01-01T00:00:00Z level=WARN msg="first run: no account exists yet" setup_code=AAAAA-BBBBB
`
	got := logWarnings(log)
	want := []string{"PASSWORDLESS MODE: the key is stored unwrapped", "first run: no account exists yet (setup_code=AAAAA-BBBBB)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("logWarnings = %q, want %q", got, want)
	}
}

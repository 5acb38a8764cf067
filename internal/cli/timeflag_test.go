package cli

import (
	"strings"
	"testing"
	"time"
)

func TestTimeFlag(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ in, want, err string }{
		{"", "", ""},
		{"2026-01-02T15:04:05Z", "2026-01-02T15:04:05Z", ""},
		{"2026-01-02T16:04:05+01:00", "2026-01-02T15:04:05Z", ""},
		{"1h", "2026-03-10T11:00:00Z", ""},
		{"90m", "2026-03-10T10:30:00Z", ""},
		{" 1h30m ", "2026-03-10T10:30:00Z", ""},
		{"7d", "2026-03-03T12:00:00Z", ""},
		{"0d", "2026-03-10T12:00:00Z", ""},
		{"-1h", "", "neither a time"},
		{"yesterday", "", "neither a time"},
		{"d", "", "neither a time"},
		{"-3d", "", "neither a time"},
		{"99999999d", "", "neither a time"},
		{"2026-01-02", "", "neither a time"},
	} {
		got, err := timeFlag("since", c.in, now)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "--since") {
				t.Errorf("%q: error %v, want one containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeFlag reads a --since or --until value: an RFC 3339 time, or an age
// before now as a Go duration (90m, 1h30m) or in days (7d). It returns
// the time in RFC 3339, as the server takes it, or "" for "".
func timeFlag(name, v string, now time.Time) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	d, err := time.ParseDuration(v)
	if n, ok := strings.CutSuffix(v, "d"); ok && err != nil {
		days, derr := strconv.ParseUint(n, 10, 16)
		d, err = time.Duration(days)*24*time.Hour, derr
	}
	if err != nil || d < 0 {
		return "", fmt.Errorf("--%s %q is neither a time like 2026-01-02T15:04:05Z nor an age like 30m, 1h or 7d", name, v)
	}
	return now.Add(-d).UTC().Format(time.RFC3339), nil
}

// timeFlags rewrites each named flag value in place with timeFlag.
func timeFlags(now time.Time, flags map[string]*string) error {
	for name, p := range flags {
		v, err := timeFlag(name, *p, now)
		if err != nil {
			return err
		}
		*p = v
	}
	return nil
}

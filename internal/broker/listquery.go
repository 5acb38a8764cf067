package broker

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// Page sizes of the listings that page with cursors (the request log and
// the admin trail).
const (
	listPageDefault = 100
	listPageMax     = 1000
)

// listParams are the paging and time filters the request log and the
// admin trail share, as strings from the query.
type listParams struct {
	Since, Until, Before, After, Limit string
}

// listWindow is listParams parsed: zero times and cursors mean "none".
type listWindow struct {
	Since, Until  time.Time
	Before, After int64
	Limit         int
}

// parseListParams validates p, naming the parameter at fault. since and
// until are RFC 3339 times or an age ("90s", "30m", "1h", "7d"): that long
// before now. before and after are cursors; cursor says what one is, for
// the error ("a row id"). limit is 1 to listPageMax, listPageDefault when
// absent.
func parseListParams(p listParams, now time.Time, cursor string) (listWindow, error) {
	w := listWindow{Limit: listPageDefault}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", p.Since, &w.Since}, {"until", p.Until, &w.Until}} {
		if t.v == "" {
			continue
		}
		v, err := parseListTime(t.v, now)
		if err != nil {
			return w, errs.Invalid(t.name, "%s must be an RFC 3339 time like 2026-01-02T15:04:05Z or an age like 30m, 1h or 7d", t.name)
		}
		*t.dst = v
	}
	for _, c := range []struct {
		name, v string
		dst     *int64
	}{{"before", p.Before, &w.Before}, {"after", p.After, &w.After}} {
		if c.v == "" {
			continue
		}
		n, err := strconv.ParseInt(c.v, 10, 64)
		if err != nil || n < 0 {
			return w, errs.Invalid(c.name, "%s must be %s (a cursor from a previous page)", c.name, cursor)
		}
		*c.dst = n
	}
	if p.Limit != "" {
		n, err := strconv.Atoi(p.Limit)
		if err != nil || n < 1 || n > listPageMax {
			return w, errs.Invalid("limit", "limit must be between 1 and %d", listPageMax)
		}
		w.Limit = n
	}
	return w, nil
}

// maxListAge bounds an age filter: far beyond any retention, and far from
// time.Duration's overflow.
const maxListAge = 100 * 365 * 24 * time.Hour

// errNotListTime is parseListTime's one failure; the caller names the
// parameter.
var errNotListTime = errors.New("not an RFC 3339 time or a positive age")

// parseListTime reads an RFC 3339 time, or an age before now: a positive
// Go duration ("90s", "30m", "1h30m") or a whole number of days ("7d").
func parseListTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	var age time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && days[0] != '+' && days[0] != '-' {
		n, err := strconv.Atoi(days)
		if err != nil || n > int(maxListAge/(24*time.Hour)) {
			return time.Time{}, errNotListTime
		}
		age = time.Duration(n) * 24 * time.Hour
	} else {
		d, err := time.ParseDuration(s)
		if err != nil || s[0] == '+' || s[0] == '-' {
			return time.Time{}, errNotListTime
		}
		age = d
	}
	if age <= 0 || age > maxListAge {
		return time.Time{}, errNotListTime
	}
	return now.Add(-age).UTC(), nil
}

package broker

import (
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// The request log and the trail read the same since, until, cursors and
// limit: one table for both.
func TestParseListParams(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v.UTC() }
	cases := []struct {
		name    string
		p       listParams
		want    listWindow
		badName string // the parameter an error names; "" when accepted
	}{
		{"nothing: the default page", listParams{}, listWindow{Limit: 100}, ""},
		{"RFC 3339 in another zone is read as UTC", listParams{Since: "2026-01-02T15:04:05+02:00", Until: "2026-01-03T00:00:00Z"},
			listWindow{Since: at("2026-01-02T13:04:05Z"), Until: at("2026-01-03T00:00:00Z"), Limit: 100}, ""},
		{"an age in hours", listParams{Since: "1h"}, listWindow{Since: now.Add(-time.Hour), Limit: 100}, ""},
		{"an age in days and minutes", listParams{Since: "7d", Until: "90m"}, listWindow{Since: now.Add(-7 * 24 * time.Hour), Until: now.Add(-90 * time.Minute), Limit: 100}, ""},
		{"cursors and a limit", listParams{Before: "42", After: "0", Limit: "1000"}, listWindow{Before: 42, Limit: 1000}, ""},
		{"a date alone", listParams{Since: "2026-01-02"}, listWindow{}, "since"},
		{"words", listParams{Until: "yesterday"}, listWindow{}, "until"},
		{"a negative age", listParams{Since: "-1h"}, listWindow{}, "since"},
		{"a signed age", listParams{Since: "+1h"}, listWindow{}, "since"},
		{"a zero age", listParams{Since: "0s"}, listWindow{}, "since"},
		{"zero days", listParams{Since: "0d"}, listWindow{}, "since"},
		{"negative days", listParams{Since: "-3d"}, listWindow{}, "since"},
		{"an age beyond a century", listParams{Since: "1000000d"}, listWindow{}, "since"},
		{"a bare d", listParams{Since: "d"}, listWindow{}, "since"},
		{"a negative cursor", listParams{Before: "-1"}, listWindow{}, "before"},
		{"a cursor that is not a number", listParams{After: "x"}, listWindow{}, "after"},
		{"limit zero", listParams{Limit: "0"}, listWindow{}, "limit"},
		{"limit too large", listParams{Limit: "1001"}, listWindow{}, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseListParams(tc.p, now, "a row id")
			if tc.badName != "" {
				e, ok := errs.As(err)
				if !ok || e.Kind != errs.KindInvalid || e.Field != tc.badName {
					t.Fatalf("err = %v, want an invalid-%s error", err, tc.badName)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Since.Equal(tc.want.Since) || !got.Until.Equal(tc.want.Until) || got.Before != tc.want.Before || got.After != tc.want.After || got.Limit != tc.want.Limit {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// Both listings use it: an age works on each.
	if f, err := parseLogQuery(LogQuery{Since: "1h"}, now); err != nil || !f.Since.Equal(now.Add(-time.Hour)) {
		t.Errorf("request log since=1h: %v %v", f.Since, err)
	}
	if f, err := (AuditQuery{Until: "2d"}).filter(now); err != nil || !f.Until.Equal(now.Add(-48*time.Hour)) {
		t.Errorf("trail until=2d: %v %v", f.Until, err)
	}
}

// The listings' parameters come from any authenticated caller: the parser
// never panics, answers with typed errors only, and what it accepts is in
// bounds (no time after now from an age, no negative cursor).
func FuzzParseListParams(f *testing.F) {
	f.Add("1h", "2026-01-02T03:04:05Z", "10", "", "50")
	f.Add("9223372036854775807d", "-0s", "-1", "x", "0")
	f.Add("1.5h", "3d", "", "0", "1000")
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, since, until, before, after, limit string) {
		w, err := parseListParams(listParams{Since: since, Until: until, Before: before, After: after, Limit: limit}, now, "a row id")
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if w.Limit < 1 || w.Limit > listPageMax || w.Before < 0 || w.After < 0 {
			t.Fatalf("accepted out of bounds: %+v", w)
		}
		for _, v := range []struct {
			in string
			t  time.Time
		}{{since, w.Since}, {until, w.Until}} {
			if _, rfc := time.Parse(time.RFC3339, v.in); v.in != "" && rfc != nil && !v.t.Before(now) {
				t.Fatalf("the age %q gave %v, not before now", v.in, v.t)
			}
		}
	})
}

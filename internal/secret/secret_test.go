package secret

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
)

const value = "sk_live_SUPERSECRET"

func TestFmtNeverRevealsValue(t *testing.T) {
	s := FromString(value)
	p := &s
	type wrapper struct {
		Name  string
		Value Bytes
	}
	w := wrapper{Name: "n", Value: s}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T-%v", "%10s", "%-20v"}
	for _, verb := range verbs {
		for name, arg := range map[string]any{"value": s, "pointer": p, "struct": w, "struct pointer": &w, "slice": []Bytes{s}, "map": map[string]Bytes{"k": s}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) ||
				strings.Contains(out, fmt.Sprint([]byte(value))) || strings.Contains(out, "115 107 95") {
				t.Errorf("Sprintf(%q, %s) = %q reveals the value", verb, name, out)
			}
		}
	}
	if got := s.String(); got != "[REDACTED]" {
		t.Errorf("String() = %q", got)
	}
	if got := s.GoString(); got != "[REDACTED]" {
		t.Errorf("GoString() = %q", got)
	}
	if got := fmt.Sprint(s); got != "[REDACTED]" {
		t.Errorf("Sprint = %q", got)
	}
	if got := fmt.Sprintf("%+v", w); got != "{Name:n Value:[REDACTED]}" {
		t.Errorf("%%+v of struct = %q", got)
	}
}

func TestErrorWrappingDoesNotReveal(t *testing.T) {
	s := FromString(value)
	err := fmt.Errorf("bad value %v: %w", s, errors.New("cause"))
	if strings.Contains(err.Error(), value) {
		t.Errorf("error %q reveals the value", err)
	}
	var buf bytes.Buffer
	l := log.New(&buf, "", 0)
	l.Printf("%v %s", s, s)
	l.Println(s)
	if strings.Contains(buf.String(), value) {
		t.Errorf("log output %q reveals the value", buf.String())
	}
}

func TestJSONNeverRevealsValue(t *testing.T) {
	s := FromString(value)
	for name, v := range map[string]any{
		"bare":    s,
		"pointer": &s,
		"struct":  struct{ Token Bytes }{s},
		"map":     map[string]Bytes{"k": s},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("%s: json.Marshal: %v", name, err)
			continue
		}
		if strings.Contains(string(b), value) || !strings.Contains(string(b), "[REDACTED]") {
			t.Errorf("%s: json = %s", name, b)
		}
	}
	b, _ := json.Marshal(s)
	if string(b) != `"[REDACTED]"` {
		t.Errorf("json.Marshal = %s, want \"[REDACTED]\"", b)
	}
	type doc struct{ V Bytes }
	xb, err := xml.Marshal(doc{s})
	if err != nil || strings.Contains(string(xb), value) || !strings.Contains(string(xb), "<V>[REDACTED]</V>") {
		t.Errorf("xml.Marshal = %s, %v", xb, err)
	}
}

func TestSlogNeverRevealsValue(t *testing.T) {
	s := FromString(value)
	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(newHandler(&buf))
		l.Info("msg", "secret", s, "ptr", &s, "group", slog.GroupValue(slog.Any("inner", s)),
			"struct", struct{ V Bytes }{s})
		l.With("bound", s).Info("again")
		out := buf.String()
		if strings.Contains(out, value) {
			t.Errorf("%s handler output reveals the value: %s", name, out)
		}
		if strings.Count(out, "[REDACTED]") < 4 {
			t.Errorf("%s handler output does not show the redaction marker: %s", name, out)
		}
	}
}

func TestRevealAndLen(t *testing.T) {
	s := FromString(value)
	if string(s.Reveal()) != value || s.Len() != len(value) || s.IsEmpty() {
		t.Errorf("Reveal/Len/IsEmpty = %q/%d/%v", s.Reveal(), s.Len(), s.IsEmpty())
	}
	var zero Bytes
	if !zero.IsEmpty() || zero.Len() != 0 || zero.Reveal() != nil {
		t.Error("zero value is not the empty secret")
	}
	if !New([]byte{}).IsEmpty() {
		t.Error("New(empty) is not empty")
	}
}

func TestFromStringCopies(t *testing.T) {
	str := "abc"
	s := FromString(str)
	s.Wipe()
	if str != "abc" {
		t.Error("wiping changed the source string")
	}
}

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b Bytes
		want bool
	}{
		{FromString("abc"), FromString("abc"), true},
		{FromString("abc"), FromString("abd"), false},
		{FromString("abc"), FromString("ab"), false},
		{FromString("ab"), FromString("abc"), false},
		{FromString(""), Bytes{}, true},
		{Bytes{}, Bytes{}, true},
		{FromString("a"), Bytes{}, false},
		{New([]byte{0}), Bytes{}, false},
	}
	for _, c := range cases {
		if got := c.a.Equal(c.b); got != c.want {
			t.Errorf("%q.Equal(%q) = %v, want %v", c.a.Reveal(), c.b.Reveal(), got, c.want)
		}
		if got := c.b.Equal(c.a); got != c.want {
			t.Errorf("Equal is not symmetric for %q, %q", c.a.Reveal(), c.b.Reveal())
		}
	}
}

func TestWipe(t *testing.T) {
	raw := []byte(value)
	s := New(raw)
	cp := s // copies share the array
	s.Wipe()
	if !bytes.Equal(raw, make([]byte, len(value))) {
		t.Errorf("underlying bytes after Wipe = %q", raw)
	}
	if !bytes.Equal(cp.Reveal(), make([]byte, len(value))) {
		t.Error("a copy still holds the value after Wipe")
	}
	if s.Len() != len(value) {
		t.Errorf("Wipe changed the length to %d", s.Len())
	}
	var zero Bytes
	zero.Wipe() // must not panic
}

func TestPointerVerbAndNestingNeverShowValue(t *testing.T) {
	s := FromString("hunter2-secret")
	type holder struct{ v Bytes }
	for _, out := range []string{fmt.Sprintf("%p", s), fmt.Sprintf("%v", holder{s}), fmt.Sprintf("%+v", &holder{s}), fmt.Sprintf("%#v", holder{s})} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprint([]byte("hunter2-secret"))) {
			t.Errorf("printed value leaks: %s", out)
		}
	}
}

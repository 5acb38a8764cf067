package service

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	ok := []struct {
		in   string
		keys []string
		out  string // rendered with each key K as <K>
	}{
		{"{{ K }}", []string{"K"}, "<K>"},
		{"{{K}}", []string{"K"}, "<K>"},
		{"{{\tK  }}", []string{"K"}, "<K>"},
		{"Bearer {{ API_TOKEN }}", []string{"API_TOKEN"}, "Bearer <API_TOKEN>"},
		{"{{ A }}:{{ B }}", []string{"A", "B"}, "<A>:<B>"},
		{"{{ A }}{{ A }}", []string{"A", "A"}, "<A><A>"},
		{"static", nil, "static"},
		{"{ not a placeholder }", nil, "{ not a placeholder }"},
		{"{{ K }} }", []string{"K"}, "<K> }"},
		{"{a}{{ K }}", []string{"K"}, "{a}<K>"},
		{"tab\tand space", nil, "tab\tand space"},
		{"ünïcode {{ K }}", []string{"K"}, "ünïcode <K>"},
	}
	for _, c := range ok {
		tpl, reason := parseTemplate(c.in)
		if reason != "" {
			t.Errorf("parseTemplate(%q): %s", c.in, reason)
			continue
		}
		if got := tpl.keys(); !reflect.DeepEqual(got, c.keys) {
			t.Errorf("parseTemplate(%q).keys() = %v, want %v", c.in, got, c.keys)
		}
		values := map[string][]byte{}
		for _, k := range c.keys {
			values[k] = []byte("<" + k + ">")
		}
		if got := tpl.render(values); got != c.out {
			t.Errorf("render(%q) = %q, want %q", c.in, got, c.out)
		}
	}
	bad := []struct{ in, reason string }{
		{"", "empty"},
		{"{{ K", "not closed"},
		{"{{ K }", "not closed"},
		{"{{ K }} {{", "not closed"},
		{"K }}", "no matching `{{`"},
		{"}} {{ K }}", "no matching `{{`"},
		{"{{ K }}}}", "ambiguous"},
		{"{{ K }}}", "ambiguous"},
		{"{{ A }}{{ B }}}", "ambiguous"},
		{"{{}}", "must name a credential key"},
		{"{{ }}", "must name a credential key"},
		{"{{ k }}", "must name a credential key"},
		{"{{ K L }}", "must name a credential key"},
		{"{{ {{ K }} }}", "must name a credential key"},
		{"{{{ K }}", "must name a credential key"},
		{"{{ .K }}", "must name a credential key"},
		{"{{ K\n}}", "control characters"},
		{"a\rb", "control characters"},
		{"a\x00", "control characters"},
		{"a\x7f", "control characters"},
		{"\xff{{ K }}", "UTF-8"},
		{strings.Repeat("a", MaxTemplateLen+1), "limit is 4096"},
	}
	for _, c := range bad {
		tpl, reason := parseTemplate(c.in)
		if tpl != nil || !strings.Contains(reason, c.reason) {
			t.Errorf("parseTemplate(%q) = %v, %q; want a reason containing %q", c.in, tpl, reason, c.reason)
		}
	}
	if _, reason := parseTemplate(strings.Repeat("a", MaxTemplateLen)); reason != "" {
		t.Errorf("a template of exactly the limit was refused: %s", reason)
	}
}

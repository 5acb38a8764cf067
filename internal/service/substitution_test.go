package service

import (
	"reflect"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestPlaceholderRules(t *testing.T) {
	ok := []string{
		"__STRIPE_KEY__", "__ab", "a__b", "ab__", "a.bc", "a~bc", "a-bc", "1-23",
		"__1_", "x.y.z", "--a-", "..a.", "~~~a", "Mixed.Case-0~_",
		strings.Repeat("a", MaxPlaceholderLen-2) + "__",
	}
	for _, p := range ok {
		if reason := checkPlaceholder(p); reason != "" {
			t.Errorf("placeholder %q refused: %s", p, reason)
		}
	}
	bad := []struct{ in, reason string }{
		{"", "required"},
		{"a.b", "at least 4"},
		{"__a", "at least 4"},
		{"____", "at least one letter or digit"},
		{"..-~", "at least one letter or digit"},
		{"abcd", "must contain `__`"},
		{"ab_cd", "must contain `__`"},
		{"_a_b_", "must contain `__`"},
		{"STRIPE_KEY", "must contain `__`"},
		{"1234", "must contain `__`"},
		{"__a b__", "only letters"},
		{"__a/b__", "only letters"},
		{"{{KEY}}", "only letters"},
		{"$KEY.x", "only letters"},
		{"__KEY__\n", "only letters"},
		{"__clé__", "'é'"},
		{strings.Repeat("a", MaxPlaceholderLen-1) + "__", "at most 128"},
	}
	for _, c := range bad {
		if reason := checkPlaceholder(c.in); !strings.Contains(reason, c.reason) {
			t.Errorf("checkPlaceholder(%q) = %q, want a reason containing %q", c.in, reason, c.reason)
		}
	}
}

func TestSubstitutionFromAPI(t *testing.T) {
	got, err := SubstitutionFromAPI(apitype.Substitution{Key: "K", Placeholder: "__K__"}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.In, []Surface{SurfacePath, SurfaceQuery}) {
		t.Errorf("default surfaces = %v", got.In)
	}
	if !got.Scans(SurfacePath) || !got.Scans(SurfaceQuery) || got.Scans(SurfaceHeader) || got.Scans(SurfaceBody) || got.Scans(SurfaceWebSocket) {
		t.Errorf("Scans disagrees with the default surfaces")
	}
	got, err = SubstitutionFromAPI(apitype.Substitution{Key: "K", Placeholder: "__K__", In: []string{}}, "s")
	if err != nil || !reflect.DeepEqual(got.In, DefaultSurfaces()) {
		t.Errorf("an empty in list: %v, %v", got.In, err)
	}
	all := []string{"websocket", "body", "header", "query", "path"}
	got, err = SubstitutionFromAPI(apitype.Substitution{Key: "K", Placeholder: "__K__", In: all}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.ToAPI(), apitype.Substitution{Key: "K", Placeholder: "__K__", In: all}) {
		t.Errorf("ToAPI = %+v; the declared order must be kept", got.ToAPI())
	}
	got, _ = SubstitutionFromAPI(apitype.Substitution{Key: "K", Placeholder: "__K__", In: []string{"body"}}, "s")
	if got.Scans(SurfacePath) || !got.Scans(SurfaceBody) {
		t.Errorf("only the declared surface may be scanned: %v", got.In)
	}

	bad := []struct {
		in    apitype.Substitution
		field string
		want  string
	}{
		{apitype.Substitution{Placeholder: "__K__"}, "key", "a substitution needs key"},
		{apitype.Substitution{Key: "k", Placeholder: "__K__"}, "key", "must name a credential key"},
		{apitype.Substitution{Key: "K"}, "placeholder", "required"},
		{apitype.Substitution{Key: "K", Placeholder: "abcd"}, "placeholder", "`__`"},
		{apitype.Substitution{Key: "K", Placeholder: "__K__", In: []string{"path", "cookie"}}, "in[1]", `unknown surface "cookie"`},
		{apitype.Substitution{Key: "K", Placeholder: "__K__", In: []string{"Path"}}, "in[0]", "unknown surface"},
		{apitype.Substitution{Key: "K", Placeholder: "__K__", In: []string{""}}, "in[0]", "unknown surface"},
		{apitype.Substitution{Key: "K", Placeholder: "__K__", In: []string{"query", "body", "query"}}, "in[2]", "listed twice"},
	}
	for _, c := range bad {
		got, err := SubstitutionFromAPI(c.in, "services[1].substitutions[4]")
		if !reflect.DeepEqual(got, Substitution{}) {
			t.Errorf("%+v: returned %+v alongside an error", c.in, got)
		}
		checkInvalid(t, err, "services[1].substitutions[4]."+c.field, c.want)
	}
}

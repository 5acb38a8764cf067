package service

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Surface is a part of a request a substitution scans (docs/protocol.md,
// "Substitutions").
type Surface string

// The surfaces.
const (
	SurfacePath      Surface = "path"
	SurfaceQuery     Surface = "query"
	SurfaceHeader    Surface = "header"
	SurfaceBody      Surface = "body"
	SurfaceWebSocket Surface = "websocket"
)

var surfaces = []Surface{SurfacePath, SurfaceQuery, SurfaceHeader, SurfaceBody, SurfaceWebSocket}

// DefaultSurfaces is what a substitution scans when it declares none.
func DefaultSurfaces() []Surface { return []Surface{SurfacePath, SurfaceQuery} }

// Limits on substitutions.
const (
	MinPlaceholderLen = 4
	MaxPlaceholderLen = 128
	MaxSubstitutions  = 20
)

// Substitution replaces Placeholder, matched literally and
// case-sensitively, with the value of credential Key in the declared
// surfaces only. After SubstitutionFromAPI, In is never empty: an omitted
// list becomes DefaultSurfaces.
type Substitution struct {
	Key         string
	Placeholder string
	In          []Surface
}

// SubstitutionFromAPI validates one substitution. prefix is its JSON path
// ("services[0].substitutions[1]").
func SubstitutionFromAPI(a apitype.Substitution, prefix string) (Substitution, error) {
	if err := checkKeyRef(field(prefix, "key"), a.Key, "a substitution needs key: the credential key whose value replaces the placeholder"); err != nil {
		return Substitution{}, err
	}
	if reason := checkPlaceholder(a.Placeholder); reason != "" {
		return Substitution{}, invalid(field(prefix, "placeholder"), "%s", reason)
	}
	out := Substitution{Key: a.Key, Placeholder: a.Placeholder}
	if len(a.In) == 0 {
		out.In = DefaultSurfaces()
		return out, nil
	}
	inPath := field(prefix, "in")
	for j, s := range a.In {
		sf := Surface(s)
		switch {
		case !containsSurface(surfaces, sf):
			return Substitution{}, invalid(index(inPath, j), "unknown surface %s; use path, query, header, body or websocket", quoteInput(s))
		case containsSurface(out.In, sf):
			return Substitution{}, invalid(index(inPath, j), "surface %q is listed twice", s)
		}
		out.In = append(out.In, sf)
	}
	return out, nil
}

// checkPlaceholder applies the placeholder rule: at least 4 characters, only
// [A-Za-z0-9_.~-], containing "__" or one of ".~-", with at least one
// letter or digit. The distinctive shape keeps a placeholder from
// colliding with ordinary words in a request.
func checkPlaceholder(p string) string {
	switch {
	case p == "":
		return "a placeholder is required, e.g. __STRIPE_KEY__"
	case len(p) < MinPlaceholderLen:
		return "the placeholder must be at least 4 characters long, e.g. __STRIPE_KEY__"
	case len(p) > MaxPlaceholderLen:
		return "the placeholder must be at most 128 characters long"
	}
	alnum := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			alnum = true
		case c == '_' || c == '.' || c == '~' || c == '-':
		default:
			r, _ := utf8.DecodeRuneInString(p[i:])
			return "the placeholder may contain only letters, digits and _ . ~ - (found " + strconv.QuoteRune(r) + ")"
		}
	}
	if !alnum {
		return "the placeholder must contain at least one letter or digit"
	}
	if !strings.Contains(p, "__") && !strings.ContainsAny(p, ".~-") {
		return "the placeholder must contain `__` or one of `.` `~` `-` so it cannot be mistaken for an ordinary word, e.g. __STRIPE_KEY__"
	}
	return ""
}

func containsSurface(ss []Surface, s Surface) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Scans reports whether the substitution applies to surface s.
func (s Substitution) Scans(surface Surface) bool { return containsSurface(s.In, surface) }

// ToAPI returns the wire form, with the surfaces always spelled out.
func (s Substitution) ToAPI() apitype.Substitution {
	in := make([]string, len(s.In))
	for i, x := range s.In {
		in[i] = string(x)
	}
	return apitype.Substitution{Key: s.Key, Placeholder: s.Placeholder, In: in}
}

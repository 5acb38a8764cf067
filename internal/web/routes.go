package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Route is one page the handler serves: a method ("" for every method)
// and a URL pattern of net/http's ServeMux.
type Route struct {
	Method  string
	Pattern string
}

// routeMux is the handler's ServeMux that also keeps, in order, every
// route registered on it: the one list of the pages. The 404/405 answers
// (ServeHTTP), the control plane's routing to the pages (Paths) and the
// tests all read it.
type routeMux struct {
	*http.ServeMux
	routes []Route
}

// HandleFunc registers fn for a pattern ("METHOD /path", or "/path" for
// every method) and records the route.
func (m *routeMux) HandleFunc(pattern string, fn func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(fn))
}

// Handle registers h for a pattern and records the route.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	if !strings.HasPrefix(path, "/") {
		panic("web: route " + strconv.Quote(pattern) + " needs a path from the root")
	}
	m.routes = append(m.routes, Route{Method: method, Pattern: path})
	m.ServeMux.Handle(pattern, h)
}

// Routes lists every page the handler serves, as registered.
func (h *Handler) Routes() []Route { return slices.Clone(h.mux.routes) }

// Paths lists the URL patterns of the pages without their methods, each
// once, with wildcards renamed by position ({w1}, {w2}, …) so that two
// registrations of one shape become one pattern. The control plane routes
// each, for every method, to the handler, which answers 405 itself.
func (h *Handler) Paths() []string {
	var out []string
	for _, r := range h.mux.routes {
		if p := canonicalPattern(r.Pattern); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// canonicalPattern renames a pattern's wildcards by position, keeping
// "{$}" and the "..." of a trailing wildcard.
func canonicalPattern(p string) string {
	segs := strings.Split(p, "/")
	n := 0
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") || s == "{$}" {
			continue
		}
		n++
		w := "{w" + strconv.Itoa(n)
		if strings.HasSuffix(s, "...}") {
			w += "..."
		}
		segs[i] = w + "}"
	}
	return strings.Join(segs, "/")
}

// allowed lists the methods registered for the pages path matches, for
// the Allow header of a 405 ("" when no page matches).
func (m *routeMux) allowed(path string) string {
	var ms []string
	for _, r := range m.routes {
		if r.Method != "" && pathMatches(r.Pattern, path) && !slices.Contains(ms, r.Method) {
			ms = append(ms, r.Method)
			if r.Method == http.MethodGet && !slices.Contains(ms, http.MethodHead) {
				ms = append(ms, http.MethodHead)
			}
		}
	}
	slices.Sort(ms)
	return strings.Join(ms, ", ")
}

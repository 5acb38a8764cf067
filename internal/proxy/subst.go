package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/service"
)

// maxSubstitutionBody bounds the body buffered for a body substitution.
const maxSubstitutionBody = 16 << 20

// applySubstitutions replaces the service's placeholders on the surfaces
// each substitution declares (docs/protocol.md, "Substitutions"), encoding the value for each:
// path and query URL-encoded, headers raw (CR/LF refused), the body by its
// content type. Only declared surfaces are scanned: that scope is the
// security boundary. Websocket frames are rewritten as they pass
// (wsframe.go, wsredact.go).
func applySubstitutions(r *http.Request, s *service.Service, lookup func(string) ([]byte, bool)) *brokerError {
	for _, sub := range s.Substitutions {
		val, ok := lookup(sub.Key)
		if !ok {
			if !mentions(r, sub) {
				continue // placeholder unused: the missing key does not matter
			}
			return fail(http.StatusBadGateway, "credential_not_found", "credential "+sub.Key+" of service "+s.Name+" is not set", "ask a vault member to set it")
		}
		v := string(val)
		if sub.Scans(service.SurfacePath) && strings.Contains(r.URL.Path, sub.Placeholder) {
			// A placeholder is unreserved characters only: it reads the
			// same in the escaped path, where the value goes escaped ("/"
			// as %2F), so the path keeps its segments.
			raw := r.URL.EscapedPath()
			r.URL.Path = strings.ReplaceAll(r.URL.Path, sub.Placeholder, v)
			r.URL.RawPath = strings.ReplaceAll(raw, sub.Placeholder, url.PathEscape(v))
		}
		if sub.Scans(service.SurfaceQuery) && strings.Contains(r.URL.RawQuery, sub.Placeholder) {
			r.URL.RawQuery = strings.ReplaceAll(r.URL.RawQuery, sub.Placeholder, url.QueryEscape(v))
		}
		if sub.Scans(service.SurfaceHeader) {
			if strings.ContainsAny(v, "\r\n") {
				return fail(http.StatusBadGateway, "credential_invalid", "credential "+sub.Key+" holds a line break and cannot go into a header", "")
			}
			for name, vals := range r.Header {
				for i, hv := range vals {
					if strings.Contains(hv, sub.Placeholder) {
						r.Header[name][i] = strings.ReplaceAll(hv, sub.Placeholder, v)
					}
				}
			}
		}
		if sub.Scans(service.SurfaceBody) {
			if err := substituteBody(r, sub.Placeholder, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// mentions reports whether the request carries sub's placeholder on a
// surface that does not need reading the body.
func mentions(r *http.Request, sub service.Substitution) bool {
	if sub.Scans(service.SurfacePath) && strings.Contains(r.URL.Path, sub.Placeholder) {
		return true
	}
	if sub.Scans(service.SurfaceQuery) && strings.Contains(r.URL.RawQuery, sub.Placeholder) {
		return true
	}
	if sub.Scans(service.SurfaceHeader) {
		for _, vals := range r.Header {
			for _, hv := range vals {
				if strings.Contains(hv, sub.Placeholder) {
					return true
				}
			}
		}
	}
	return sub.Scans(service.SurfaceBody) || sub.Scans(service.SurfaceWebSocket)
}

// substituteBody rewrites the body by content type and fixes Content-Length.
func substituteBody(r *http.Request, placeholder, value string) *brokerError {
	if r.Body == nil || r.Body == http.NoBody || r.Header.Get("Content-Encoding") != "" {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxSubstitutionBody+1))
	r.Body.Close()
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", "could not read the request body", "")
	}
	if len(data) > maxSubstitutionBody {
		return fail(http.StatusRequestEntityTooLarge, "request_too_large", "a body substitution needs the body in memory; it is larger than "+strconv.Itoa(maxSubstitutionBody)+" bytes", "")
	}
	enc := value
	switch {
	case mt == "application/x-www-form-urlencoded":
		enc = url.QueryEscape(value)
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var b bytes.Buffer
		je := json.NewEncoder(&b)
		je.SetEscapeHTML(false)
		_ = je.Encode(value)
		enc = strings.TrimSuffix(b.String(), "\n")
		enc = enc[1 : len(enc)-1]
	}
	data = bytes.ReplaceAll(data, []byte(placeholder), []byte(enc))
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.Header.Set("Content-Length", strconv.Itoa(len(data)))
	r.TransferEncoding = nil
	return nil
}

// recheckSubstituted refuses a request of a path-scoped service (a path
// in its host pattern, or path rules) whose path a substitution changed,
// unless the path the upstream will read is still one the service
// serves: unambiguous, without dot or empty segments the value brought,
// inside the scope and within the rules. The scope and rules were checked
// on the path the agent wrote, with the placeholder in it; a value (which
// an agent with the member role can write) such as "..", "admin" or
// "a/../../b" would otherwise send the credential outside them. (A method
// override needs no second look: one that holds a placeholder names no
// method and is refused before anything is substituted.) before is the
// path as it was checked. The answer never quotes the path, which now
// holds the value.
func recheckSubstituted(r *http.Request, s *service.Service, before string) *brokerError {
	if !s.PathScoped() || r.URL.Path == before || servesPath(r, s) {
		return nil
	}
	var keys []string
	for _, sub := range s.Substitutions {
		if sub.Scans(service.SurfacePath) && strings.Contains(before, sub.Placeholder) {
			keys = append(keys, sub.Key)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	return fail(http.StatusForbidden, "substitution_refused",
		"service "+s.Name+" is limited to some paths, and the value of "+strings.Join(keys, ", ")+" put into the path would take the request outside them (a dot segment, an encoded separator, or a path its scope or rules refuse); nothing was sent",
		"ask a vault member to check the value of "+strings.Join(keys, ", "))
}

// servesPath reports whether r's path, as the upstream will read it, is
// one s serves: unambiguous, already canonical, in scope, within the rules.
func servesPath(r *http.Request, s *service.Service) bool {
	cp := canonicalize(r.URL)
	return cp.ambiguous == "" && cp.path == r.URL.Path && s.Pattern.MatchesPath(cp.path) && !s.Rules.Check(r.Method, cp.path).Refused
}

// Package server is the control plane's HTTP surface: one route table,
// thin handlers that decode, call one broker method and encode, and one
// gate for body limits, authentication and errors.
package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// DefaultMaxBody is the control plane's request body limit.
const DefaultMaxBody = 1 << 20

// Options configure the handler. Zero fields mean the defaults.
type Options struct {
	Broker  *broker.Broker // required
	Logger  *slog.Logger
	MaxBody int64 // bytes; DefaultMaxBody when zero
	// CAPEM is the broker proxy's root certificate, served publicly.
	CAPEM []byte
	// Limiter applies the rate limits (docs/security-model.md); nil applies none.
	Limiter *ratelimit.Limiter
	// TrustedProxies may set X-Forwarded-For for the client address.
	TrustedProxies []netip.Prefix
	// Web serves the browser pages (internal/web) on the paths it lists;
	// nil serves none.
	Web WebPages
	// Ready are the conditions GET /readyz checks; none: always ready.
	Ready []ReadyCheck
}

// WebPages is the browser pages' handler and the URL patterns it serves,
// which the control plane routes to it for every method (it answers 405
// itself). The pages list them once, where they register them.
type WebPages interface {
	http.Handler
	Paths() []string
}

// isWebPath reports whether r is routed to the browser pages.
func (s *Server) isWebPath(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return s.webPatterns[pattern]
}

// Server is the control plane handler.
type Server struct {
	b       *broker.Broker
	log     *slog.Logger
	maxBody int64
	caPEM   []byte
	lim     *ratelimit.Limiter
	trusted []netip.Prefix
	ready   []ReadyCheck
	mux     *http.ServeMux
	// webPatterns are the patterns routed to the browser pages.
	webPatterns map[string]bool
	web         http.Handler // the browser pages, or nil
}

var _ http.Handler = (*Server)(nil)

// New builds the control plane handler.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	s := &Server{b: o.Broker, log: o.Logger, maxBody: o.MaxBody, caPEM: o.CAPEM, lim: o.Limiter, trusted: o.TrustedProxies, ready: o.Ready, mux: http.NewServeMux()}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, rt.h)
	}
	s.webPatterns = map[string]bool{}
	if o.Web != nil {
		s.web = o.Web
		for _, p := range o.Web.Paths() {
			s.mux.Handle(p, o.Web)
			s.webPatterns[p] = true
		}
	}
	return s
}

// ServeHTTP applies the gate: panic recovery, the body limit, request
// logging and JSON answers for unknown routes and methods.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "method", r.Method, "path", logPath(r.URL.Path), "panic", p)
			if rec.status == 0 {
				s.writeError(rec, r, errInternalPanic)
			}
		}
		// The query string is left out: it can carry tokens.
		s.log.Debug("request", "method", r.Method, "path", logPath(r.URL.Path), "status", rec.status)
	}()
	if r.ContentLength > s.maxBody && !s.isWebPath(r) {
		// Browser pages cap their forms lower and answer with a page.
		s.writeError(rec, r, errTooLarge(s.maxBody))
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, s.maxBody)
	// The client's address, for the admin audit trail's rows.
	r = r.WithContext(broker.WithSource(r.Context(), ratelimit.ClientIP(r, s.trusted)))
	if s.lim != nil && !probePaths[r.URL.Path] {
		release, ok, retry := s.lim.AcquireGlobal()
		if !ok {
			s.tooMany(rec, r, retry, "requests in flight on this server")
			return
		}
		defer release()
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		if s.browserNavigation(r) {
			// A person's mistyped address outside the API: the pages'
			// own "no page here", not the API's JSON.
			s.web.ServeHTTP(rec, r)
			return
		}
		// The mux answers 404 or 405 in plain text; turn that into JSON.
		s.mux.ServeHTTP(&fallbackWriter{statusWriter: rec, s: s, r: r}, r)
		return
	}
	s.mux.ServeHTTP(rec, r) // ServeHTTP, not the Handler result: it sets path values
}

// browserNavigation reports whether r, which no route matches, is a
// browser's GET of a page address (it asks for HTML, outside /v1/):
// such a request gets the pages' HTML answer. API clients do not ask
// for HTML, and every /v1/ path keeps its JSON answer.
func (s *Server) browserNavigation(r *http.Request) bool {
	return s.web != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		!strings.HasPrefix(r.URL.Path, "/v1/") && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// tokenInPath matches Agent Vault tokens carried in URL paths (invite
// links), so that request logs never hold one.
var tokenInPath = regexp.MustCompile(`(av_[a-z]+_)[0-9a-fA-F]+`)

// logPath is r.URL.Path with tokens cut to their prefix.
func logPath(p string) string { return tokenInPath.ReplaceAllString(p, "${1}…") }

// statusWriter remembers the status written, for logs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fallbackWriter replaces the mux's plain-text 404/405 with a JSON error,
// keeping the Allow header the mux set.
type fallbackWriter struct {
	*statusWriter
	s       *Server
	r       *http.Request
	written bool
}

func (f *fallbackWriter) WriteHeader(code int) {
	if f.written {
		return
	}
	f.written = true
	f.Header().Del("X-Content-Type-Options")
	if code == http.StatusMethodNotAllowed {
		f.s.writeError(f.statusWriter, f.r, errMethod(f.r.Method, f.Header().Get("Allow")))
		return
	}
	f.s.writeError(f.statusWriter, f.r, errRoute(f.r.URL.Path))
}

func (f *fallbackWriter) Write(p []byte) (int, error) {
	if !f.written {
		f.WriteHeader(http.StatusNotFound)
	}
	return len(p), nil
}

package agentvault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ProxyErrorHeader marks responses the broker proxy wrote itself, so that
// an agent can tell them from an upstream's answer with the same status
// (docs/protocol.md, "Errors"). Its value is "true".
const ProxyErrorHeader = "X-Agent-Vault-Proxy-Error"

// Error codes of the control plane and of the broker proxy. [Error.Code]
// holds one of them (or a newer one); test for them with [IsCode].
const (
	// Broker proxy (on proxied responses, with [ProxyErrorHeader]).
	ErrCodeProxyAuthRequired  = "proxy_auth_required"  // 407: missing, unknown, expired or revoked proxy token
	ErrCodeRateLimited        = "rate_limited"         // 429: over a rate limit; see RetryAfter
	ErrCodeVaultRequired      = "vault_required"       // 400: an agent token with several vaults named none (proxy and control plane)
	ErrCodeForbidden          = "forbidden"            // 403: no service matches and the vault denies unmatched hosts (see ProposalHint); also a control-plane role refusal
	ErrCodeServiceDisabled    = "service_disabled"     // 403: a service matches but is disabled
	ErrCodeInsecureTransport  = "insecure_transport"   // 403: a credential would go over plain http:// (no allow_plaintext, or port 443)
	ErrCodeServiceRuleRefused = "service_rule_refused" // 403: the method or path is outside the service's rules (see Rule); an RFC 9457 problem
	ErrCodeAmbiguousPath      = "ambiguous_path"       // 400: a path-scoped service's request path reads differently to different decoders
	// 403: a value a substitution put into a path-scoped service's path
	// would take the request outside the paths the service serves.
	ErrCodeSubstitutionRefused = "substitution_refused"
	ErrCodeHostMismatch        = "host_mismatch"        // 403: the Host header differs from the target
	ErrCodeDestinationBlocked  = "destination_blocked"  // 403: the target address is not allowed (private networks, …)
	ErrCodeRequestTooLarge     = "request_too_large"    // 413: request body over the proxy's limit
	ErrCodeResponseTooLarge    = "response_too_large"   // 502: upstream response over the proxy's limit
	ErrCodeCredentialNotFound  = "credential_not_found" // 502: a credential the service needs is not set
	ErrCodeCredentialInvalid   = "credential_invalid"   // 502: a credential cannot be injected as it is
	ErrCodeCredentialNotBound  = "credential_not_bound" // 403: the credential may not be sent to this host (proxy and control plane; see ProposalHint)
	ErrCodeProposalRequired    = "proposal_required"    // 403: an agent's service write would loosen a service's rules (control plane; see ProposalHint)
	ErrCodeOAuthNotConnected   = "oauth_not_connected"  // 502: an OAuth credential is not connected yet
	ErrCodeOAuthRefreshFailed  = "oauth_refresh_failed" // 502: refreshing an OAuth credential failed
	ErrCodeUpstreamUnreachable = "upstream_unreachable" // 502: the upstream could not be reached
	ErrCodeUpstreamCertificate = "upstream_certificate" // 502: the proxy does not trust the upstream's TLS certificate
	ErrCodeBadRequest          = "bad_request"          // 400: not a request the proxy can forward
	ErrCodeInternal            = "internal"             // 500: a server-side failure
	// 502: a brokered response the proxy cannot check for credential values
	// (compressed other than gzip or deflate, or an upgrade to another
	// protocol than websocket).
	ErrCodeResponseNotScannable = "response_not_scannable"

	// Control plane.
	ErrCodeUnauthorized     = "unauthorized"       // 401: bad, expired or revoked token
	ErrCodeInvalidRequest   = "invalid_request"    // 400: a field is invalid (see Field)
	ErrCodeNotFound         = "not_found"          // 404
	ErrCodeConflict         = "conflict"           // 409
	ErrCodeAmbiguousService = "ambiguous_service"  // 409: a host names several services (see Candidates)
	ErrCodeGone             = "gone"               // 410
	ErrCodeBodyTooLarge     = "body_too_large"     // 413
	ErrCodeTooManyProposals = "too_many_proposals" // 429: the vault has too many pending proposals
	ErrCodeTooManySessions  = "too_many_sessions"  // 409: the caller holds the most live scoped sessions allowed
	// 403: only a user may turn a service's response redaction off.
	ErrCodeRedactionOptOutForbidden = "redaction_opt_out_forbidden"
)

// ProposalHint tells an agent how to ask for access to a host the vault
// denies: which host, which endpoint, and which auth types a proposal may
// use.
type ProposalHint struct {
	Host               string   `json:"host"`
	Endpoint           string   `json:"endpoint"`
	SupportedAuthTypes []string `json:"supported_auth_types"`
}

// Error is an error answer of the control plane or of the broker proxy.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is a machine-readable code (ErrCode…); it may be empty for a
	// control-plane error that has none.
	Code string
	// Message says what went wrong, for people. It never holds a
	// credential value.
	Message string
	// Help is the broker's suggestion of what to do, when it gave one.
	Help string
	// Field names the offending request field of an invalid request.
	Field string
	// Candidates lists the services an ambiguous host matched.
	Candidates []ServiceRef
	// ProposalHint is set on a "forbidden" answer of the proxy for an
	// unmatched host, and on "credential_not_bound" answers: how to ask
	// for access with a proposal.
	ProposalHint *ProposalHint
	// Rule names the service rule that refused a request
	// (service_rule_refused): "methods", "paths.allow" or "paths.deny[i]".
	Rule string
	// RetryAfter is the server's Retry-After on a 429, else zero.
	RetryAfter time.Duration
	// FromProxy reports an error written by the broker proxy (the response
	// carried [ProxyErrorHeader]) rather than by the control plane.
	FromProxy bool
}

// Error formats the message, the status and the code, and the help.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("agent vault: ")
	b.WriteString(e.Message)
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	b.WriteString(")")
	if e.Help != "" {
		b.WriteString(": " + e.Help)
	}
	return b.String()
}

// IsCode reports whether err is (or wraps) an [*Error] with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return code != "" && errors.As(err, &e) && e.Code == code
}

// ProxyErrorFromResponse recognises an error the broker proxy wrote itself
// on a response an agent received through the proxy: it reports false for
// any response without [ProxyErrorHeader] (an upstream's own answer, even
// with the same status). It reads the body into the returned error and puts
// what it read back, so resp.Body can still be read and must still be
// closed.
//
// A proxy error on a CONNECT (for instance 407 for a bad token) never
// reaches the agent as a response: Go's transport turns it into an error
// from [http.Client.Do].
func ProxyErrorFromResponse(resp *http.Response) (*Error, bool) {
	if resp == nil || !strings.EqualFold(strings.TrimSpace(resp.Header.Get(ProxyErrorHeader)), "true") {
		return nil, false
	}
	var data []byte
	if resp.Body != nil {
		data, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(data), resp.Body), Closer: resp.Body}
	}
	return parseError(resp.StatusCode, resp.Header, data), true
}

// replayBody serves what was already read, then the rest of the original.
type replayBody struct {
	io.Reader
	io.Closer
}

// wireError holds both error shapes: the control plane's
// {"error":message,"code":…} and the proxy's {"error":code,"message":…}.
type wireError struct {
	Error        string        `json:"error"`
	Code         string        `json:"code"`
	Message      string        `json:"message"`
	Help         string        `json:"help"`
	Field        string        `json:"field"`
	Candidates   []ServiceRef  `json:"candidates"`
	ProposalHint *ProposalHint `json:"proposal_hint"`
	Rule         string        `json:"rule"`
}

var codeShape = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// parseError turns an error answer into an *Error.
func parseError(status int, h http.Header, body []byte) *Error {
	e := &Error{Status: status, FromProxy: strings.EqualFold(strings.TrimSpace(h.Get(ProxyErrorHeader)), "true")}
	var w wireError
	switch {
	case json.Unmarshal(body, &w) != nil:
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	case e.FromProxy || (w.Code == "" && w.Message != "" && codeShape.MatchString(w.Error)):
		// The proxy's shape; recognised by its body too, in case something
		// between the proxy and the agent dropped the header.
		e.Code, e.Message = w.Error, w.Message
	default:
		e.Code, e.Message = w.Code, w.Error
		if e.Message == "" {
			e.Message = w.Message
		}
	}
	e.Help, e.Field, e.Candidates, e.ProposalHint, e.Rule = w.Help, w.Field, w.Candidates, w.ProposalHint, w.Rule
	if e.Code == "" && status == http.StatusProxyAuthRequired {
		e.Code = ErrCodeProxyAuthRequired
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("the server answered %d %s", status, http.StatusText(status))
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

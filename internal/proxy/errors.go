package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
)

// ErrorHeader marks responses the broker wrote itself, so that clients can
// tell them from upstream answers with the same status (docs/protocol.md,
// "Errors").
const ErrorHeader = "X-Agent-Vault-Proxy-Error"

// ProposalHint tells an agent how to ask for access to a host.
type ProposalHint struct {
	Host               string   `json:"host"`
	Endpoint           string   `json:"endpoint"`
	SupportedAuthTypes []string `json:"supported_auth_types"`
}

// errorBody is the JSON of every broker-layer error. A refusal by a
// service rule is also an RFC 9457 problem: Type, Title, Status and Detail
// are set, and Service and Rule name what refused (problem.go).
type errorBody struct {
	Type         string                     `json:"type,omitempty"`
	Title        string                     `json:"title,omitempty"`
	Status       int                        `json:"status,omitempty"`
	Detail       string                     `json:"detail,omitempty"`
	Error        string                     `json:"error"`
	Message      string                     `json:"message"`
	Help         string                     `json:"help,omitempty"`
	ProposalHint *ProposalHint              `json:"proposal_hint,omitempty"`
	Candidates   []apitype.ServiceCandidate `json:"candidates,omitempty"`
	Service      string                     `json:"service,omitempty"`
	Rule         string                     `json:"rule,omitempty"`
}

// brokerError is an answer of the broker layer.
type brokerError struct {
	status     int
	body       errorBody
	retryAfter int // seconds, for 429
}

func (e *brokerError) Error() string { return e.body.Message }

func fail(status int, code, msg, help string) *brokerError {
	return &brokerError{status: status, body: errorBody{Error: code, Message: msg, Help: help}}
}

// denyHint builds the 403 for an unmatched host under the deny policy.
func denyHint(host string) *brokerError {
	e := fail(http.StatusForbidden, "forbidden", "no service of this vault matches "+host+", and the vault denies unmatched hosts",
		"ask for access with a proposal: POST /v1/proposals (see /v1/skills/cli)")
	e.body.ProposalHint = &ProposalHint{Host: host, Endpoint: "POST /v1/proposals", SupportedAuthTypes: service.SupportedAuthTypes()}
	return e
}

// notBound is the 403 for a service that would send credential key to a
// host pattern the credential is not bound to. Writes through the API
// cannot create such a service; this is the proxy's own check.
func notBound(s service.Service, key string) *brokerError {
	host := s.Pattern.String()
	e := fail(http.StatusForbidden, "credential_not_bound", "service "+s.Name+" would send credential "+key+" to "+host+", which "+key+" is not bound to",
		"ask a vault member to bind it (`agent-vault vault credential bind "+key+" --host "+host+"`) or approve a proposal: POST /v1/proposals")
	e.body.ProposalHint = &ProposalHint{Host: host, Endpoint: "POST /v1/proposals", SupportedAuthTypes: service.SupportedAuthTypes()}
	return e
}

// writeError is the proxy's one error writer.
func writeError(w http.ResponseWriter, e *brokerError) {
	if lw, ok := w.(*logWriter); ok {
		lw.errCode = e.body.Error
	}
	h := w.Header()
	h.Set(ErrorHeader, "true")
	if e.body.Type != "" {
		h.Set("Content-Type", "application/problem+json")
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Cache-Control", "no-store")
	if e.status == http.StatusProxyAuthRequired {
		h.Set("Proxy-Authenticate", `Basic realm="agent-vault"`)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	// A 407 stays an ordinary, kept-alive answer: clients retry with
	// credentials on the same connection.
	if cw := connectOf(w); cw != nil && e.status != http.StatusProxyAuthRequired && cw.writeRefusal(e, h) {
		if lw, ok := w.(*logWriter); ok && lw.status == 0 {
			lw.status = e.status
		}
		return
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e.body)
}

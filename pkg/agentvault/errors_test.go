package agentvault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseError(t *testing.T) {
	proxyHdr := header(ProxyErrorHeader, "true")
	for _, tc := range []struct {
		name   string
		status int
		h      http.Header
		body   string
		want   Error
	}{
		{"control plane", 401, header(), `{"error":"the token is expired","code":"unauthorized"}`,
			Error{Status: 401, Code: ErrCodeUnauthorized, Message: "the token is expired"}},
		{"control plane field", 400, header(), `{"error":"this token has access to 2 vaults","code":"vault_required","field":"X-Vault"}`,
			Error{Status: 400, Code: ErrCodeVaultRequired, Message: "this token has access to 2 vaults", Field: "X-Vault"}},
		{"control plane no code", 400, header(), `{"error":"bad thing"}`,
			Error{Status: 400, Message: "bad thing"}},
		{"control plane candidates", 409, header(), `{"error":"multiple services match host \"a.com\"","code":"ambiguous_service","candidates":[{"name":"a","host":"a.com"},{"name":"b","host":"a.com/v2/*"}]}`,
			Error{Status: 409, Code: ErrCodeAmbiguousService, Message: `multiple services match host "a.com"`,
				Candidates: []ServiceRef{{Name: "a", Host: "a.com"}, {Name: "b", Host: "a.com/v2/*"}}}},
		{"proxy forbidden with hint", 403, proxyHdr,
			`{"error":"forbidden","message":"no service of this vault matches x.com","help":"ask for access with a proposal","proposal_hint":{"host":"x.com","endpoint":"POST /v1/proposals","supported_auth_types":["bearer","basic"]}}`,
			Error{Status: 403, Code: ErrCodeForbidden, Message: "no service of this vault matches x.com", Help: "ask for access with a proposal", FromProxy: true,
				ProposalHint: &ProposalHint{Host: "x.com", Endpoint: "POST /v1/proposals", SupportedAuthTypes: []string{"bearer", "basic"}}}},
		{"proxy upstream", 502, proxyHdr, `{"error":"upstream_unreachable","message":"could not reach x.com: refused","help":"check the host name"}`,
			Error{Status: 502, Code: ErrCodeUpstreamUnreachable, Message: "could not reach x.com: refused", Help: "check the host name", FromProxy: true}},
		{"proxy shape without header", 403, header(), `{"error":"service_disabled","message":"service s matches this request but is disabled"}`,
			Error{Status: 403, Code: ErrCodeServiceDisabled, Message: "service s matches this request but is disabled"}},
		{"proxy service rule problem", 403, proxyHdr,
			`{"type":"urn:agent-vault:problem:service-rule-refused","title":"Refused by a service rule","status":403,"detail":"service s refuses DELETE /x: no","error":"service_rule_refused","message":"service s refuses DELETE /x: no","help":"raise a proposal","proposal_hint":{"host":"x.com","endpoint":"POST /v1/proposals","supported_auth_types":["bearer"]},"service":"s","rule":"methods"}`,
			Error{Status: 403, Code: ErrCodeServiceRuleRefused, Message: "service s refuses DELETE /x: no", Help: "raise a proposal", FromProxy: true, Rule: "methods",
				ProposalHint: &ProposalHint{Host: "x.com", Endpoint: "POST /v1/proposals", SupportedAuthTypes: []string{"bearer"}}}},
		{"proxy 407 empty body", 407, proxyHdr, ``,
			Error{Status: 407, Code: ErrCodeProxyAuthRequired, Message: "the server answered 407 Proxy Authentication Required", FromProxy: true}},
		{"not json", 500, header(), "  oops  ",
			Error{Status: 500, Message: "oops"}},
		{"rate limited", 429, header("Retry-After", "5"), `{"error":"slow down","code":"too_many_proposals"}`,
			Error{Status: 429, Code: ErrCodeTooManyProposals, Message: "slow down", RetryAfter: 5e9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseError(tc.status, tc.h, []byte(tc.body))
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("parseError =\n %#v\nwant\n %#v", *got, tc.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Status: 403, Code: "forbidden", Message: "no service matches x.com", Help: "send a proposal"}
	if got, want := e.Error(), "agent vault: no service matches x.com (403 forbidden): send a proposal"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := (&Error{Status: 500, Message: "boom"}).Error(), "agent vault: boom (500)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestIsCode(t *testing.T) {
	err := fmt.Errorf("running: %w", &Error{Status: 403, Code: ErrCodeServiceDisabled})
	if !IsCode(err, ErrCodeServiceDisabled) || IsCode(err, ErrCodeForbidden) || IsCode(errors.New("x"), ErrCodeForbidden) || IsCode(nil, "") {
		t.Fatal("IsCode is wrong")
	}
	if IsCode(&Error{Status: 400}, "") {
		t.Fatal("an empty code must never match")
	}
}

func TestControlPlaneErrorThroughClient(t *testing.T) {
	f := newFake(t)
	f.answer["GET /discover"] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agent-vault"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"the session is expired","code":"unauthorized"}`)
	}
	_, err := New(f.srv.URL, "t").Discover(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Code != ErrCodeUnauthorized || e.Message != "the session is expired" || e.FromProxy {
		t.Fatalf("err = %#v", err)
	}
}

func TestProxyErrorFromResponse(t *testing.T) {
	body := `{"error":"credential_not_found","message":"credential STRIPE_KEY of service stripe is not set in vault v","help":"ask a vault member to set it"}` + "\n"
	resp := &http.Response{StatusCode: 502, Header: header(ProxyErrorHeader, "true", "Content-Type", "application/json"), Body: io.NopCloser(strings.NewReader(body))}
	e, ok := ProxyErrorFromResponse(resp)
	if !ok || e.Code != ErrCodeCredentialNotFound || e.Status != 502 || !e.FromProxy || e.Help != "ask a vault member to set it" {
		t.Fatalf("ProxyErrorFromResponse = %#v, %v", e, ok)
	}
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != body {
		t.Fatalf("the body was not put back: %q", rest)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}

	// An upstream's own 502 (no header) is not the broker's.
	up := &http.Response{StatusCode: 502, Header: header(), Body: io.NopCloser(strings.NewReader(`{"error":"upstream_unreachable","message":"x"}`))}
	if e, ok := ProxyErrorFromResponse(up); ok || e != nil {
		t.Fatalf("upstream answer taken for a broker error: %#v", e)
	}
	if _, ok := ProxyErrorFromResponse(nil); ok {
		t.Fatal("nil response")
	}
	noBody := &http.Response{StatusCode: 407, Header: header(ProxyErrorHeader, "TRUE")}
	if e, ok := ProxyErrorFromResponse(noBody); !ok || e.Code != ErrCodeProxyAuthRequired {
		t.Fatalf("bodiless 407 = %#v, %v", e, ok)
	}
}

// allCodes are the ErrCode constants.
var allCodes = []string{
	ErrCodeProxyAuthRequired, ErrCodeVaultRequired, ErrCodeForbidden, ErrCodeServiceDisabled, ErrCodeInsecureTransport,
	ErrCodeHostMismatch, ErrCodeDestinationBlocked, ErrCodeRequestTooLarge, ErrCodeResponseTooLarge, ErrCodeCredentialNotFound,
	ErrCodeCredentialInvalid, ErrCodeCredentialNotBound, ErrCodeOAuthNotConnected, ErrCodeOAuthRefreshFailed, ErrCodeUpstreamUnreachable, ErrCodeUpstreamCertificate, ErrCodeBadRequest,
	ErrCodeInternal, ErrCodeUnauthorized, ErrCodeInvalidRequest, ErrCodeNotFound, ErrCodeConflict, ErrCodeAmbiguousService,
	ErrCodeGone, ErrCodeBodyTooLarge, ErrCodeTooManyProposals, ErrCodeTooManySessions, ErrCodeRateLimited,
	ErrCodeServiceRuleRefused, ErrCodeAmbiguousPath, ErrCodeSubstitutionRefused,
	ErrCodeResponseNotScannable, ErrCodeRedactionOptOutForbidden,
}

// TestEveryBrokerCodeHasAConstant reads the proxy's sources: every code it
// answers with must have an ErrCode constant here.
func TestEveryBrokerCodeHasAConstant(t *testing.T) {
	files, err := filepath.Glob("../../internal/proxy/*.go")
	if err != nil || len(files) == 0 {
		t.Skipf("proxy sources not found (%v)", err)
	}
	failCall := regexp.MustCompile(`fail\(http\.\w+,\s*"([a-z_]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range failCall.FindAllSubmatch(src, -1) {
			found++
			if code := string(m[1]); !slices.Contains(allCodes, code) {
				t.Errorf("%s answers with code %q, which has no ErrCode constant", filepath.Base(f), code)
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d fail(…) calls in the proxy: has its error helper changed?", found)
	}
}

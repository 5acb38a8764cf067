package oauth

import (
	"errors"
	"net/url"
	"strings"
)

// AuthorizationRequest is what the browser is sent to the provider with.
type AuthorizationRequest struct {
	Endpoint    string // the provider's authorization URL (may carry its own query)
	ClientID    string
	RedirectURI string
	State       string
	Scopes      []string
	// ScopeSeparator joins Scopes; a space when empty.
	ScopeSeparator string
	// Challenge is the S256 code challenge; empty sends none (PKCE off).
	Challenge string
}

// reservedParams are the parameters AuthorizationURL sets itself: an
// endpoint that carries one of them is refused rather than silently sent
// with two values.
var reservedParams = []string{"response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method"}

// ErrReservedParam says the authorization URL already carries a parameter
// of the authorization request.
var ErrReservedParam = errors.New("the authorization URL already carries a parameter of the authorization request")

// AuthorizationURL builds the URL the user opens: the endpoint with
// response_type=code, client_id, redirect_uri, state, scope and, with a
// challenge, code_challenge and code_challenge_method=S256. Parameters the
// endpoint already carries (prompt=consent, access_type=offline) are kept.
func AuthorizationURL(r AuthorizationRequest) (string, error) {
	u, err := url.Parse(r.Endpoint)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for _, p := range reservedParams {
		if q.Has(p) {
			return "", ErrReservedParam
		}
	}
	q.Set("response_type", "code")
	q.Set("client_id", r.ClientID)
	q.Set("redirect_uri", r.RedirectURI)
	q.Set("state", r.State)
	if len(r.Scopes) > 0 {
		sep := r.ScopeSeparator
		if sep == "" {
			sep = " "
		}
		q.Set("scope", strings.Join(r.Scopes, sep))
	}
	if r.Challenge != "" {
		q.Set("code_challenge", r.Challenge)
		q.Set("code_challenge_method", "S256")
	}
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u.String(), nil
}

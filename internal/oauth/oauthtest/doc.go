// Package oauthtest runs a real OAuth 2.0 authorization server (the
// go-oauth2 library's server and manager) over HTTPS on 127.0.0.1, with a
// certificate authority of its own, for tests of the vault's OAuth
// credentials: authorization code with PKCE (and an optional consent page
// a browser clicks through), refresh tokens with switchable rotation,
// client credentials, short token lifetimes, a protected API that checks
// bearer tokens, and counters of token endpoint hits. Only tests import
// it.
package oauthtest

// Package oauth speaks OAuth 2.0 to token endpoints on the vault's
// behalf: the token request (authorization code with PKCE verifier,
// refresh token, client credentials) with each client authentication
// method, dialled only through netguard, with bounded answers and
// timeouts; the typed tokens it returns; and the versioned form in which
// an OAuth credential is sealed in the store (Stored). It does no I/O
// besides the token request and knows nothing of vaults or users: the
// broker decides when to ask and where to keep the answer. See
// docs/oauth.md.
package oauth

// Package service owns the service model: host patterns, match priority,
// auth configs, substitutions; pure, no I/O.
//
// A service (docs/protocol.md, "Services: what the proxy matches") says
// which upstream traffic it matches (a host pattern), how the broker
// authenticates it (an auth config) and which placeholders it substitutes.
// This package parses and validates the wire form (apitype.Service) into
// these values, chooses the service a request matches (by the match
// priority), and renders the headers an auth config
// injects. Every rejection is an *errs.Error of KindInvalid whose Field is
// the JSON path of the offending input (for example
// "services[2].auth.token") and whose message starts with that path and says
// which rule was broken.
//
// Choices made beyond the rules of docs/protocol.md:
//
//   - Host patterns are canonical on input: uppercase letters, a trailing
//     dot, a leading zero in a port and a non-canonical IPv6 address are
//     rejected with the canonical spelling suggested, never rewritten, so
//     reads return exactly what was written.
//   - Hosts are ASCII (internationalised names in xn-- form); labels are
//     1–63 of [a-z0-9_-] without a hyphen at either end; hosts are at most
//     253 bytes. A host whose last label is numeric must be a dotted-decimal
//     IPv4 address. IPv6 literals are accepted in brackets, canonical,
//     without a zone: [2001:db8::1]:8443.
//   - A wildcard is "*." followed by at least two labels (*.com is refused)
//     and never by an IP address.
//   - Path globs are at most 1024 bytes of RFC 3986 path characters and
//     %XX escapes; "*" is the only wildcard. Regex-only characters
//     ([ ] { } | \ ^ and a trailing $) are refused. Paths match the request
//     path as sent, literally and case-sensitively; a glob matches the
//     whole path (/api/* does not match /api); an empty path counts as /.
//   - Request hosts are compared after lowercasing ASCII letters, removing
//     IPv6 brackets and one trailing dot.
//   - Match considers disabled services too: a disabled best match is
//     reported, not skipped (403 service_disabled).
//   - Defaults are made explicit when a service is read: enabled true,
//     api-key header Authorization, substitution surfaces [path, query].
//   - Within one service, no placeholder may equal or contain another;
//     within one vault, names and host patterns are unique.
//   - Custom auth references at least one key; it may also set static
//     headers. Templates refuse stray "{{", "}}" and braces touching a
//     placeholder. Services may not manage hop-by-hop, framing, proxy,
//     broker (X-Vault, X-Agent-Vault-*) or WebSocket handshake headers;
//     Sec-WebSocket-Protocol is allowed, since some APIs carry tokens in it.
//   - Errors about a field that names a credential key never repeat the
//     input, in case a secret was pasted where its key name belongs.
//   - Rules (rules.go): methods are uppercase tokens, listed once; path
//     allow/deny globs use the host pattern's path grammar and must start
//     with "/"; deny globs match ignoring ASCII case, allow globs do not;
//     allow_plaintext is refused on a pattern whose port is 443. A service
//     with a path or path rules is path-scoped (docs/proxy.md).
package service

import (
	"fmt"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// field joins a JSON path prefix and a member name: field("services[0]",
// "host") is "services[0].host"; with no prefix it is just "host".
func field(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// index returns the JSON path of element i of the array at path.
func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// invalid is errs.Invalid with a message that starts with the field path.
func invalid(fieldPath, format string, args ...any) *errs.Error {
	return errs.Invalid(fieldPath, "%s: %s", fieldPath, fmt.Sprintf(format, args...))
}

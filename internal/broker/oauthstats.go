package broker

import (
	"sync/atomic"

	"github.com/agent-vault/agent-vault/internal/oauth"
)

// Counts of the token requests the vault makes by itself to keep OAuth
// credentials connected (docs/operations.md, "Metrics"): by grant, by what
// set them off and by outcome. No credential, vault or token goes into
// them, so that their number of series stays fixed.

// The triggers of a token request.
const (
	RenewalUpload = "upload" // tokens or client credentials stored: checked at once
	RenewalExpiry = "expiry" // the access token was due (within the skew)
	Renewal401    = "401"    // an upstream refused the injected token
)

// The grants and outcomes, in the order of oauthCounters' indexes.
var (
	renewalGrants   = [...]oauth.Grant{oauth.GrantRefreshToken, oauth.GrantClientCredentials}
	renewalTriggers = [...]string{RenewalUpload, RenewalExpiry, Renewal401}
	renewalOutcomes = [...]string{"ok", "failed"}
)

// oauthCounters holds the counts: [grant][trigger][outcome].
type oauthCounters struct {
	n [len(renewalGrants)][len(renewalTriggers)][len(renewalOutcomes)]atomic.Uint64
}

// OAuthRenewal is one series of the counts.
type OAuthRenewal struct {
	Grant, Trigger, Outcome string
	N                       uint64
}

// countRenewal records one token request the vault made by itself.
func (b *Broker) countRenewal(g oauth.Grant, trigger string, ok bool) {
	gi, ti, oi := 0, 0, 0
	if g == oauth.GrantClientCredentials {
		gi = 1
	}
	for i, t := range renewalTriggers {
		if t == trigger {
			ti = i
		}
	}
	if !ok {
		oi = 1
	}
	b.renewals.n[gi][ti][oi].Add(1)
}

// OAuthRenewals returns every series of the counts (zeros included).
func (b *Broker) OAuthRenewals() []OAuthRenewal {
	out := make([]OAuthRenewal, 0, len(renewalGrants)*len(renewalTriggers)*len(renewalOutcomes))
	for gi, g := range renewalGrants {
		for ti, t := range renewalTriggers {
			for oi, o := range renewalOutcomes {
				out = append(out, OAuthRenewal{Grant: string(g), Trigger: t, Outcome: o, N: b.renewals.n[gi][ti][oi].Load()})
			}
		}
	}
	return out
}

package daemon

import (
	"fmt"
	"net"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/oauth"
)

// oauthClient is the client the broker renews OAuth credentials with:
// token endpoints are dialled under the proxy's network policy and
// verified with the same roots as upstreams (system roots plus
// AGENT_VAULT_UPSTREAM_CA_FILE).
func oauthClient(cfg config.Server) (*oauth.Client, error) {
	allow, err := netguard.ParseAllowlist(cfg.NetworkAllowlist)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvAllowlist, err)
	}
	roots, err := upstreamRoots(cfg.UpstreamCAFile)
	if err != nil {
		return nil, err
	}
	return &oauth.Client{
		Dialer:  &netguard.Dialer{Policy: netguard.Policy{AllowPrivate: cfg.AllowPrivate, Allow: allow}, Resolver: net.DefaultResolver},
		RootCAs: roots,
	}, nil
}

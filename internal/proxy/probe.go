package proxy

import (
	"encoding/json"
	"net/http"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
)

// writeProbe answers `agent-vault doctor`'s check (apitype.ProxyProbeHost)
// with the vault and actor the credentials reach. The request is neither
// forwarded nor logged: the name is under .invalid, which no resolver ever
// serves, so nothing sent there could have left the proxy anyway. The mark
// is the destination, never a header, so an agent cannot use it to keep a
// request to any other host out of the log.
func writeProbe(w http.ResponseWriter, g *broker.ProxyGrant) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(apitype.ProxyProbe{OK: true, Vault: g.VaultName, Actor: g.ActorName})
}

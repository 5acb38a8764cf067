package apitype

// ProxyProbeHost is the destination `agent-vault doctor` sends its proxy
// check to. The proxy answers a request for it itself, after
// authenticating, and neither forwards nor logs it (docs/proxy.md).
const ProxyProbeHost = "agent-vault-probe.invalid"

// ProxyProbe is the proxy's answer to a probe: which vault and actor the
// proxy credentials reach.
type ProxyProbe struct {
	OK    bool   `json:"ok"`
	Vault string `json:"vault"`
	Actor string `json:"actor"`
}

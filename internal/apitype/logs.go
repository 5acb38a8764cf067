package apitype

import "time"

// RequestLog is one row of GET /v1/vaults/{name}/logs.
type RequestLog struct {
	ID             int64     `json:"id"`
	Time           time.Time `json:"time"`
	ActorType      string    `json:"actor_type"`
	Actor          string    `json:"actor"`
	Ingress        string    `json:"ingress"`
	Method         string    `json:"method"`
	Host           string    `json:"host"`
	Port           int       `json:"port"`
	Path           string    `json:"path"`
	Service        string    `json:"service,omitempty"`
	CredentialKeys []string  `json:"credential_keys,omitempty"`
	Status         int       `json:"status"`
	RequestBytes   int64     `json:"request_bytes"`
	ResponseBytes  int64     `json:"response_bytes"`
	DurationMS     int64     `json:"duration_ms"`
	ErrorCode      string    `json:"error_code,omitempty"`
}

// RequestLogList is GET /v1/vaults/{name}/logs. NextCursor, when set, is
// the before= value for the next (older) page.
type RequestLogList struct {
	Vault      string       `json:"vault"`
	Logs       []RequestLog `json:"logs"`
	NextCursor int64        `json:"next_cursor,omitempty"`
}

// DiscoveredHost is a host agents reached that no service matched.
type DiscoveredHost struct {
	Host     string    `json:"host"`
	Port     int       `json:"port"`
	Count    int64     `json:"count"`
	LastSeen time.Time `json:"last_seen"`
}

// DiscoveredHosts is GET /v1/vaults/{name}/discovered-hosts.
type DiscoveredHosts struct {
	Vault string           `json:"vault"`
	Hosts []DiscoveredHost `json:"hosts"`
}

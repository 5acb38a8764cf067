package apitype

// VaultContext is GET /v1/vaults/{name}/context: the caller's role in one
// vault.
type VaultContext struct {
	VaultName string `json:"vault_name"`
	VaultRole string `json:"vault_role"`
}

// CredentialUsage is GET /v1/vaults/{name}/services/credential-usage?key=K:
// the services whose auth or substitutions use credential K.
type CredentialUsage struct {
	Key      string              `json:"key"`
	Services []CredentialUsageOf `json:"services"`
}

// CredentialUsageOf is one service using a credential.
type CredentialUsageOf struct {
	Name string `json:"name"`
	Host string `json:"host"`
}

package e2e

// The public TypeScript SDK's requests, as it sends them, and the fields
// it reads from each answer.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestCompatSDK(t *testing.T) {
	t.Parallel()
	s, owner, proxyPort := compatOwner(t, true)
	tok := owner.token()
	base := s.url

	// client.createVault: POST /v1/vaults {name} → {id, name, created_at}.
	v := jsonObject(t, "create vault", call(t, http.MethodPost, base+"/v1/vaults", tok, map[string]any{"name": "sdk-vault"}), http.StatusCreated)
	wantKinds(t, "create vault", v, map[string]string{"id": "string", "name": "string", "created_at": "string"})

	// vault.credentials.set: POST /v1/credentials {credentials, vault},
	// with X-Vault on every call of a vault client → {set: [...]}.
	set := jsonObject(t, "credentials.set", withHeader(t, http.MethodPost, base+"/v1/credentials", tok, "X-Vault", "sdk-vault",
		map[string]any{"credentials": map[string]string{"STRIPE_KEY": "sk_test_compat"}, "vault": "sdk-vault"}), http.StatusOK)
	wantKinds(t, "credentials.set", set, map[string]string{"set": "array"})

	// vault.services.set: POST …/services {services} → {vault, upserted, services_count}.
	up := jsonObject(t, "services.set", withHeader(t, http.MethodPost, base+"/v1/vaults/sdk-vault/services", tok, "X-Vault", "sdk-vault",
		map[string]any{"services": []any{map[string]any{"name": "stripe", "host": "api.stripe.com",
			"auth": map[string]any{"type": "bearer", "token": "STRIPE_KEY"}}}}), http.StatusOK)
	wantKinds(t, "services.set", up, map[string]string{"vault": "string", "upserted": "array", "services_count": "number"})

	// vault.services.list: GET …/services → {vault, services[{name, host, auth}]}.
	list := jsonObject(t, "services.list", call(t, http.MethodGet, base+"/v1/vaults/sdk-vault/services", tok, nil), http.StatusOK)
	wantKinds(t, "services.list", list, map[string]string{"vault": "string", "services": "array"})
	if svcs := list["services"].([]any); len(svcs) != 1 {
		t.Fatalf("services.list: %v", list)
	} else {
		wantKinds(t, "services.list entry", svcs[0].(map[string]any), map[string]string{"name": "string", "host": "string", "auth": "object", "enabled": "bool"})
	}

	// vault.services.credentialUsage: GET …/services/credential-usage?key=K
	// → {services: [{name, host}]}.
	usage := jsonObject(t, "credential-usage", call(t, http.MethodGet, base+"/v1/vaults/sdk-vault/services/credential-usage?key=STRIPE_KEY", tok, nil), http.StatusOK)
	wantKinds(t, "credential-usage", usage, map[string]string{"services": "array"})
	if u := usage["services"].([]any); len(u) != 1 || u[0].(map[string]any)["name"] != "stripe" || u[0].(map[string]any)["host"] != "api.stripe.com" {
		t.Errorf("credential-usage of STRIPE_KEY = %v, want the stripe service", usage)
	}
	if u := jsonObject(t, "credential-usage unused", call(t, http.MethodGet, base+"/v1/vaults/sdk-vault/services/credential-usage?key=OTHER", tok, nil), http.StatusOK); len(u["services"].([]any)) != 0 {
		t.Errorf("credential-usage of an unused key = %v, want no service", u)
	}
	if r := call(t, http.MethodGet, base+"/v1/vaults/sdk-vault/services/credential-usage", tok, nil); r.status != http.StatusBadRequest {
		t.Errorf("credential-usage without key: %s, want 400", r)
	}

	// vault.credentials.list: GET /v1/credentials?vault=…&reveal=true →
	// {keys, credentials[{key, value}]} (the member reveal path).
	cl := jsonObject(t, "credentials.list", call(t, http.MethodGet, base+"/v1/credentials?vault=sdk-vault&reveal=true&key=STRIPE_KEY", tok, nil), http.StatusOK)
	wantKinds(t, "credentials.list", cl, map[string]string{"keys": "array", "credentials": "array"})

	// vault.services.replaceAll: PUT …/services {services} → {vault, services_count}.
	rep := jsonObject(t, "services.replaceAll", call(t, http.MethodPut, base+"/v1/vaults/sdk-vault/services", tok,
		map[string]any{"services": []any{map[string]any{"name": "stripe", "host": "api.stripe.com",
			"auth": map[string]any{"type": "api-key", "key": "STRIPE_KEY", "header": "Authorization", "prefix": "Bearer "}}}}), http.StatusOK)
	wantKinds(t, "services.replaceAll", rep, map[string]string{"vault": "string", "services_count": "number"})

	// vault.sessions.create: POST /v1/sessions {vault, ttl_seconds} →
	// {token, expires_at, av_addr}; then GET /v1/mitm/ca.pem, whose
	// X-MITM-Port header is where the SDK points HTTPS_PROXY.
	sess := jsonObject(t, "sessions.create", call(t, http.MethodPost, base+"/v1/sessions", tok, map[string]any{"vault": "sdk-vault", "ttl_seconds": 600}), http.StatusOK)
	wantKinds(t, "sessions.create", sess, map[string]string{"token": "string", "expires_at": "string"})
	ca := call(t, http.MethodGet, base+"/v1/mitm/ca.pem", "", nil)
	if ca.status != http.StatusOK || !strings.Contains(string(ca.body), "BEGIN CERTIFICATE") {
		t.Fatalf("GET /v1/mitm/ca.pem: %s", ca)
	}
	if got := ca.header.Get("X-MITM-Port"); got != strconv.Itoa(proxyPort) {
		t.Errorf("X-MITM-Port = %q, want the proxy's port %d (clients otherwise fall back to 14322)", got, proxyPort)
	}

	// vault.credentials.delete: DELETE /v1/credentials {keys, vault} → {deleted}.
	// A service still uses the key, so the service goes first (removeByName:
	// DELETE …/services/{name} → {vault, removed, services_count}).
	rm := jsonObject(t, "services.removeByName", call(t, http.MethodDelete, base+"/v1/vaults/sdk-vault/services/stripe", tok, nil), http.StatusOK)
	wantKinds(t, "services.removeByName", rm, map[string]string{"vault": "string", "removed": "string", "services_count": "number"})
	del := jsonObject(t, "credentials.delete", withHeader(t, http.MethodDelete, base+"/v1/credentials", tok, "X-Vault", "sdk-vault",
		map[string]any{"keys": []string{"STRIPE_KEY"}, "vault": "sdk-vault"}), http.StatusOK)
	wantKinds(t, "credentials.delete", del, map[string]string{"deleted": "array"})

	// client.deleteVault: DELETE /v1/vaults/{name} → {name, deleted}.
	dv := jsonObject(t, "deleteVault", call(t, http.MethodDelete, base+"/v1/vaults/sdk-vault", tok, nil), http.StatusOK)
	wantKinds(t, "deleteVault", dv, map[string]string{"name": "string", "deleted": "bool"})
}

// Without the broker proxy no X-MITM-Port is sent (clients then keep
// their default); the CA itself is still served (see docs/compatibility.md).
func TestCompatCAWithoutProxy(t *testing.T) {
	t.Parallel()
	s, _, _ := compatOwner(t, false)
	r := call(t, http.MethodGet, s.url+"/v1/mitm/ca.pem", "", nil)
	if r.status != http.StatusOK || r.header.Get("X-MITM-Port") != "" {
		t.Errorf("GET /v1/mitm/ca.pem without the proxy: %s, X-MITM-Port %q; want no port", r, r.header.Get("X-MITM-Port"))
	}
}

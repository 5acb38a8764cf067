package broker

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Limits on credential writes.
const (
	maxCredentialsPerWrite = 100
	maxCredentialValue     = 64 << 10
)

// credentialAD binds a ciphertext to its vault and key, so a value copied
// into another row (or another vault) does not decrypt.
func credentialAD(vaultID, key string) []byte { return keyring.AD("credential", vaultID, key) }

// ListCredentials lists a vault's credential keys (proxy+). With reveal (or
// a single key asked for by value), values are decrypted, which only users
// with the member role or higher may do: never an agent or a scoped session.
func (b *Broker) ListCredentials(ctx context.Context, a Actor, vault string, reveal bool, key string) (apitype.CredentialList, error) {
	out := apitype.CredentialList{Vault: vault, Keys: []string{}, Credentials: []apitype.Credential{}}
	act := policy.ListCredentialKeys
	if reveal {
		act = policy.ReadCredentialValue
	}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, act)
	if err != nil {
		if reveal {
			v.Name = vault // v.ID is set when the vault exists
			b.recordFailure(ctx, a.event(trail.CredentialRead, v, key), err)
		}
		return out, err
	}
	if key != "" {
		if err := model.ValidateCredentialKey("key", key); err != nil {
			return out, err
		}
	}
	cs, err := b.st.Credentials().List(ctx, v.ID)
	if err != nil {
		return out, internal(err, "listing credentials")
	}
	ix, err := loadBindingPatterns(ctx, b.st, v.ID)
	if err != nil {
		return out, err
	}
	for _, c := range cs {
		if key != "" && c.Key != key {
			continue
		}
		e := apitype.Credential{Key: c.Key, Type: string(c.Type), UpdatedAt: c.UpdatedAt,
			AllowedHosts: nonNil(ix.patterns[c.Key]), AgentBoundHosts: ix.byAgent[c.Key], WrittenByAgent: writtenByAgent(c.WrittenBy)}
		if c.Type == model.CredentialOAuth {
			// Its state only: tokens and client secret are never revealed.
			e.OAuth = b.oauthListState(v.ID, c)
		} else if reveal {
			val, err := b.kr.Open(c.Ciphertext, credentialAD(v.ID, c.Key))
			if err != nil {
				return out, errs.Internal(err, "decrypting credential "+c.Key)
			}
			s := string(val.Reveal())
			val.Wipe()
			e.Value = &s
		}
		out.Keys = append(out.Keys, c.Key)
		out.Credentials = append(out.Credentials, e)
	}
	if key != "" && len(out.Credentials) == 0 {
		return out, errs.NotFound("credential %s not found in vault %q: list keys with `agent-vault vault credential list`", key, v.Name)
	}
	if reveal {
		if err := b.record(ctx, b.st, a.event(trail.CredentialRead, v, strings.Join(out.Keys, ","))); err != nil {
			return apitype.CredentialList{Vault: vault}, err
		}
	}
	return out, nil
}

// SetCredentials encrypts and stores several values at once (member+),
// all or none.
func (b *Broker) SetCredentials(ctx context.Context, a Actor, in apitype.SetCredentialsRequest) (apitype.CredentialsSet, error) {
	if in.Vault == "" {
		return apitype.CredentialsSet{}, errs.Invalid("vault", "vault is required")
	}
	if len(in.Credentials) == 0 {
		return apitype.CredentialsSet{}, errs.Invalid("credentials", "credentials must hold at least one KEY: value pair")
	}
	if len(in.Credentials) > maxCredentialsPerWrite {
		return apitype.CredentialsSet{}, errs.Invalid("credentials", "at most %d credentials per request", maxCredentialsPerWrite)
	}
	keys := make([]string, 0, len(in.Credentials))
	for k, val := range in.Credentials {
		if err := model.ValidateCredentialKey("credentials."+k, k); err != nil {
			return apitype.CredentialsSet{}, err
		}
		if val == "" {
			return apitype.CredentialsSet{}, errs.Invalid("credentials."+k, "the value of %s is empty", k)
		}
		if len(val) > maxCredentialValue {
			return apitype.CredentialsSet{}, errs.Invalid("credentials."+k, "the value of %s is longer than %d bytes", k, maxCredentialValue)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hosts := map[string][]service.Pattern{}
	for k, hs := range in.AllowedHosts {
		if _, ok := in.Credentials[k]; !ok {
			return apitype.CredentialsSet{}, errs.Invalid("allowed_hosts."+k, "allowed_hosts names %s, which this request does not set; bind an existing credential with `agent-vault vault credential bind`", k)
		}
		ps, err := parseBindHosts("allowed_hosts."+k, hs)
		if err != nil {
			return apitype.CredentialsSet{}, err
		}
		hosts[k] = ps
	}
	err := b.tx(ctx, func(tx store.Store) error {
		v, role, err := b.vaultAuthorized(ctx, tx, a, in.Vault, policy.WriteCredential)
		if err != nil {
			return err
		}
		if len(hosts) > 0 {
			if err := authorize(a, role, policy.BindCredential); err != nil {
				return err
			}
		}
		now := b.now()
		for _, k := range keys {
			ct, err := b.kr.Seal(secret.FromString(in.Credentials[k]), credentialAD(v.ID, k))
			if err != nil {
				return errs.Internal(err, "encrypting a credential")
			}
			// Put drops the bindings agents made for the value it replaces.
			if err := tx.Credentials().Put(ctx, model.Credential{VaultID: v.ID, Key: k, Type: model.CredentialStatic, Ciphertext: ct, CreatedAt: now, UpdatedAt: now, WrittenBy: a.principal()}); err != nil {
				return internal(err, "saving credentials")
			}
			for _, p := range hosts[k] {
				if err := tx.Credentials().Bind(ctx, model.CredentialBinding{VaultID: v.ID, Key: k, Pattern: p.String(), AddedBy: a.principal(), CreatedAt: now}); err != nil {
					return internal(err, "binding a credential")
				}
			}
		}
		return b.record(ctx, tx, a.event(trail.CredentialSet, v, strings.Join(keys, ",")))
	})
	if err != nil {
		return apitype.CredentialsSet{}, err
	}
	return apitype.CredentialsSet{Vault: in.Vault, Set: keys}, nil
}

// DeleteCredentials removes keys (member+), all or none. A key a service
// still references is refused, so the proxy never meets a dangling one.
func (b *Broker) DeleteCredentials(ctx context.Context, a Actor, in apitype.DeleteCredentialsRequest) (apitype.CredentialsDeleted, error) {
	if in.Vault == "" {
		return apitype.CredentialsDeleted{}, errs.Invalid("vault", "vault is required")
	}
	if len(in.Keys) == 0 {
		return apitype.CredentialsDeleted{}, errs.Invalid("keys", "name at least one key to delete")
	}
	for i, k := range in.Keys {
		if err := model.ValidateCredentialKey("keys["+strconv.Itoa(i)+"]", k); err != nil {
			return apitype.CredentialsDeleted{}, err
		}
	}
	err := b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, in.Vault, policy.WriteCredential)
		if err != nil {
			return err
		}
		used, err := b.referencedKeys(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		for _, k := range in.Keys {
			if svc, ok := used[k]; ok {
				return errs.Conflict("credential %s is used by service %q: change or remove the service first", k, svc).WithCode("credential_in_use")
			}
			if err := tx.Credentials().Delete(ctx, v.ID, k); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return errs.NotFound("credential %s not found in vault %q", k, v.Name)
				}
				return internal(err, "deleting credentials")
			}
		}
		return b.record(ctx, tx, a.event(trail.CredentialDel, v, strings.Join(in.Keys, ",")))
	})
	if err != nil {
		return apitype.CredentialsDeleted{}, err
	}
	return apitype.CredentialsDeleted{Vault: in.Vault, Deleted: in.Keys}, nil
}

// credentialKeys is the set of keys stored in a vault.
func credentialKeys(ctx context.Context, st store.Store, vaultID string) (map[string]bool, error) {
	cs, err := st.Credentials().List(ctx, vaultID)
	if err != nil {
		return nil, internal(err, "listing credentials")
	}
	out := make(map[string]bool, len(cs))
	for _, c := range cs {
		out[c.Key] = true
	}
	return out, nil
}

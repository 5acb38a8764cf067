package broker

import (
	"context"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
)

// OAuthConnectDefaults is what the connect form of an OAuth credential
// starts from (member+): the provider settings stored with it, never its
// secret (ClientSecret is apitype.OAuthSecretKept when one is stored) nor
// its tokens. Connected reports whether it holds tokens already.
func (b *Broker) OAuthConnectDefaults(ctx context.Context, a Actor, vault, key string) (in apitype.OAuthConnectRequest, connected bool, err error) {
	if err := model.ValidateCredentialKey("key", key); err != nil {
		return in, false, err
	}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.WriteCredential)
	if err != nil {
		return in, false, err
	}
	in.Vault, in.Key = v.Name, key
	s, exists, err := b.loadOAuth(ctx, b.st, v.ID, key)
	if err != nil || !exists {
		return in, false, err
	}
	in.AuthorizationURL, in.TokenURL, in.ClientID = s.AuthorizationURL, s.TokenURL, s.ClientID
	in.ScopeSeparator, in.TokenAuthMethod = s.ScopeSeparator, string(s.AuthMethod)
	in.DisablePKCE = &s.DisablePKCE
	sep := s.ScopeSeparator
	if sep == "" {
		sep = " "
	}
	in.Scopes.Joined = strings.Join(s.Scopes, sep)
	if s.ClientSecret != "" {
		in.ClientSecret = apitype.OAuthSecretKept
	}
	return in, s.AccessToken != "" || s.RefreshToken != "", nil
}

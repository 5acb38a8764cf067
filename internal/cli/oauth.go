package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// vaultSetup resolves --vault and opens a logged-in client.
type vaultSetup = func() (*client.Client, config.ResolvedVault, error)

// oauthSubcommands are further `credential oauth` subcommands that files
// of their own register (the connect flow).
var oauthSubcommands []func(a *app, setup vaultSetup) *cobra.Command

// oauthCmd is `credential oauth`: OAuth credentials (see docs/oauth.md).
func (a *app) oauthCmd(setup vaultSetup) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oauth",
		Short: "Manage OAuth credentials: upload tokens, client credentials, status",
		Long: `OAuth credentials hold short-lived access tokens that the vault renews by
itself (with a refresh token, or with the client credentials grant) and
injects as the service's auth. Tokens and client secrets are never shown.
See docs/oauth.md.`,
	}
	cmd.AddCommand(a.oauthTokensCmd(setup), a.oauthStatusCmd(setup))
	for _, sub := range oauthSubcommands {
		cmd.AddCommand(sub(a, setup))
	}
	return cmd
}

func (a *app) oauthTokensCmd(setup vaultSetup) *cobra.Command {
	var in apitype.OAuthTokensRequest
	var scopes []string
	cmd := &cobra.Command{
		Use:   "tokens <KEY>",
		Short: "Store OAuth tokens for a credential, or a client whose tokens the vault fetches",
		Long: `Store OAuth tokens obtained elsewhere, or set up the client credentials grant.

  # a refresh token (the vault refreshes at once and refuses it if that fails)
  agent-vault vault credential oauth tokens GOOGLE --refresh-token - \
      --token-url https://oauth2.googleapis.com/token --client-id ID --client-secret - --host www.googleapis.com
  # machine-to-machine: the vault fetches and renews tokens itself
  agent-vault vault credential oauth tokens API --grant client_credentials \
      --token-url https://auth.example.com/oauth/token --client-id ID --client-secret - --scope read

A token or secret given as "-" is read from a hidden prompt, or a line of
standard input (in the order access token, refresh token, client
secret); a literal value lands in your shell history. Left-out settings
keep the stored ones, but a stored client secret is reused only with the
token URL and client id it was given with.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Key, in.Scopes = args[0], scopes
			for _, f := range []struct {
				v      *string
				prompt string
			}{{&in.AccessToken, "Access token"}, {&in.RefreshToken, "Refresh token"}, {&in.ClientSecret, "Client secret"}} {
				if *f.v == "-" {
					s, err := a.readSecret(f.prompt, false)
					if err != nil {
						return err
					}
					if s == "" {
						return errors.New(strings.ToLower(f.prompt) + " is empty")
					}
					*f.v = s
				}
			}
			c, rv, err := setup()
			if err != nil {
				return err
			}
			in.Vault = rv.Name
			out, err := c.UploadOAuthTokens(cmd.Context(), in)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "OAuth credential %s in vault %s is connected", out.Key, out.Vault)
				if out.ExpiresAt != nil {
					fmt.Fprintf(w, "; its access token lapses at %s and is renewed before then", ts(*out.ExpiresAt))
				}
				fmt.Fprintln(w, ".")
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.GrantType, "grant", "", `"client_credentials" to have the vault fetch tokens for the client itself`)
	f.StringVar(&in.AccessToken, "access-token", "", `access token ("-" to prompt)`)
	f.StringVar(&in.RefreshToken, "refresh-token", "", `refresh token ("-" to prompt)`)
	f.StringVar(&in.TokenURL, "token-url", "", "the provider's token endpoint (https)")
	f.StringVar(&in.ClientID, "client-id", "", "the OAuth client id")
	f.StringVar(&in.ClientSecret, "client-secret", "", `the OAuth client secret ("-" to prompt)`)
	f.StringVar(&in.TokenAuthMethod, "auth-method", "", "client_secret_post (default), client_secret_basic or none")
	f.StringArrayVar(&scopes, "scope", nil, "a scope to ask for with client credentials (repeatable)")
	f.StringArrayVar(&in.AllowedHosts, "host", nil, "also bind the credential to this host pattern (repeatable; users only)")
	return cmd
}

func (a *app) oauthStatusCmd(setup vaultSetup) *cobra.Command {
	return &cobra.Command{
		Use:   "status <KEY>",
		Short: "Show an OAuth credential's state (never its tokens)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			st, err := c.OAuthStatus(cmd.Context(), rv.Name, args[0])
			if err != nil {
				return err
			}
			return a.show(st, func(w io.Writer) {
				rows := [][]string{
					{"key", st.Key}, {"vault", st.Vault}, {"status", st.Status}, {"grant", dash(st.GrantType)},
					{"token url", dash(st.TokenURL)}, {"client id", dash(st.ClientID)}, {"auth method", dash(st.TokenAuthMethod)},
					{"scopes", dash(strings.Join(st.Scopes, " "))}, {"expires", tsPtr(st.ExpiresAt)}, {"refreshed", tsPtr(st.RefreshedAt)},
					{"refresh token", yesNo(st.HasRefreshToken)}, {"client secret", yesNo(st.HasClientSecret)},
				}
				if st.LastError != nil {
					rows = append(rows, []string{"last error", *st.LastError})
				}
				if next := oauthNextStep(st); next != "" {
					rows = append(rows, []string{"next", next})
				}
				for _, r := range rows {
					fmt.Fprintf(w, "%-14s %s\n", r[0]+":", cell(r[1]))
				}
			})
		},
	}
}

// oauthNextStep says what a member does about an OAuth credential that
// the proxy cannot inject ("" when it can).
func oauthNextStep(st apitype.OAuthStatus) string {
	key, vault := shellQuote(st.Key), shellQuote(st.Vault)
	switch {
	case st.Status == apitype.OAuthStatusConnected:
		return ""
	case st.GrantType == "client_credentials":
		return "check the client id, secret and token URL with the provider, then store them again: agent-vault vault credential oauth tokens " + key +
			" --vault " + vault + " --grant client_credentials --token-url URL --client-id ID --client-secret -"
	case st.Status == apitype.OAuthStatusPending:
		return "connect it: agent-vault vault credential oauth connect " + key + " --vault " + vault + " --client-secret -"
	}
	return "connect it again: agent-vault vault credential oauth connect " + key + " --vault " + vault +
		" (or upload new tokens: agent-vault vault credential oauth tokens " + key + " --vault " + vault + " --refresh-token - --client-secret -)"
}

// oauthTypeCell is a credential's TYPE cell: its state for OAuth ones.
func oauthTypeCell(cr apitype.Credential) string {
	if cr.OAuth == nil {
		return cr.Type
	}
	s := cr.Type + " (" + cr.OAuth.Status
	if cr.OAuth.Status == apitype.OAuthStatusConnected && cr.OAuth.ExpiresAt != nil {
		s += ", expires " + ts(*cr.OAuth.ExpiresAt)
	}
	return s + ")"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tsPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}

func yesNo(b bool) string {
	if b {
		return "stored"
	}
	return "none"
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

// oauthPollEvery is how often a waiting connect asks whether the
// credential is connected.
const oauthPollEvery = 2 * time.Second

func init() { oauthSubcommands = append(oauthSubcommands, (*app).oauthConnectCmd) }

// oauthConnectCmd is `vault credential oauth connect`: start the
// authorization-code flow, print the provider URL, wait for the browser.
func (a *app) oauthConnectCmd(setup vaultSetup) *cobra.Command {
	var (
		in           apitype.OAuthConnectRequest
		scopes       string
		secretArg    string
		noWait, open bool
		disablePKCE  bool
		timeout      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "connect <KEY>",
		Short: "Connect an OAuth credential: open the provider's consent page in a browser, wait until the vault has the tokens",
		Long: `Start the authorization-code flow (with PKCE) of an OAuth credential.

The command prints the provider's URL; open it in a browser where you are
signed in to this vault's web console, approve access, and press "Finish
connecting" on the page the provider sends you back to. The vault then
exchanges the code for tokens and stores them, and this command returns.
The link works once, for you only, within ten minutes.

  agent-vault vault credential oauth connect GOOGLE \
    --authorization-url https://accounts.google.com/o/oauth2/v2/auth?access_type=offline\&prompt=consent \
    --token-url https://oauth2.googleapis.com/token \
    --client-id 123.apps.googleusercontent.com --client-secret - \
    --scopes "https://www.googleapis.com/auth/gmail.readonly"

Settings left out default to those stored with the credential (an
approved proposal's, or the last connection's): after an approval
` + "`oauth connect KEY --client-secret -`" + ` is enough.

Register the redirect URI <address>/v1/oauth/callback with the provider.
Without --client-secret the secret stored with the credential is kept
(only with the token URL and client id it was stored with); a public
client uses --token-auth-method none. See docs/oauth.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Key = args[0]
			if cmd.Flags().Changed("disable-pkce") {
				in.DisablePKCE = &disablePKCE
			}
			in.Scopes = apitype.ScopeList{Joined: scopes}
			in.ClientSecret = secretArg
			switch {
			case secretArg == "-":
				s, err := a.readSecret("Client secret", false)
				if err != nil {
					return err
				}
				if s == "" {
					return errors.New("the client secret is empty")
				}
				in.ClientSecret = s
			case secretArg == "" && in.TokenAuthMethod != "none":
				in.ClientSecret = apitype.OAuthSecretKept
			}
			c, rv, err := setup()
			if err != nil {
				return err
			}
			in.Vault = rv.Name
			// Ctrl-C while waiting ends the wait with a word on what happens
			// to the flow; caught before the URL is printed.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			before, _ := c.OAuthConnection(ctx, rv.Name, in.Key) // none yet: the zero value
			started, err := c.OAuthConnect(ctx, in)
			in.ClientSecret = ""
			if err != nil {
				var e *client.APIError
				if errors.As(err, &e) && e.Body.Field == "client_secret" && secretArg == "" {
					return fmt.Errorf("%w (give it with --client-secret -)", err)
				}
				return err
			}
			fmt.Fprintf(a.errOut, "Open this URL in a browser signed in to the vault's web console, approve access, then press \"Finish connecting\":\n\n")
			if a.json {
				// A stream of JSON values: this one, then the outcome.
				if err := a.printJSONLine(started); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(a.out, cell(started.AuthorizationURL))
			}
			fmt.Fprintln(a.errOut)
			if open && a.interactive() {
				if err := openBrowser(started.AuthorizationURL); err != nil {
					fmt.Fprintf(a.errOut, "(could not open a browser: %v; open the URL yourself)\n", err)
				}
			}
			if noWait {
				return nil
			}
			return a.waitConnected(ctx, c, rv.Name, in.Key, before.ConnectedAt, timeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.AuthorizationURL, "authorization-url", "", "the provider's authorization endpoint (https)")
	f.StringVar(&in.TokenURL, "token-url", "", "the provider's token endpoint (https)")
	f.StringVar(&in.ClientID, "client-id", "", "the OAuth client id registered with the provider")
	f.StringVar(&secretArg, "client-secret", "", `the client secret; "-" reads it from a hidden prompt or a line of standard input (a literal value lands in your shell history)`)
	f.StringVar(&scopes, "scopes", "", "scopes to ask for, separated by --scope-separator")
	f.StringVar(&in.ScopeSeparator, "scope-separator", "", "what separates the scopes in the request (default a space)")
	f.BoolVar(&disablePKCE, "disable-pkce", false, "do not use PKCE (only for a provider that refuses it; kept for later connects to the same authorization URL, --disable-pkce=false turns it on again)")
	f.StringVar(&in.TokenAuthMethod, "token-auth-method", "", "client_secret_post (default), client_secret_basic or none (a public client)")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the browser")
	f.BoolVar(&noWait, "no-wait", false, "print the URL and return without waiting")
	f.BoolVar(&open, "open", false, "also open the URL in the default browser (on an interactive terminal only)")
	return cmd
}

// interactive reports whether the command runs on a terminal.
func (a *app) interactive() bool {
	f, ok := a.out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && a.stdinIsTTY()
}

// waitConnected polls the credential's status until a connection newer
// than before completes, the timeout passes, or the user presses Ctrl-C.
func (a *app) waitConnected(ctx context.Context, c *client.Client, vault, key, before string, timeout time.Duration) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	fmt.Fprintf(a.errOut, "Waiting for the browser (up to %s; Ctrl-C stops waiting)…\n", timeout.Round(time.Second))
	tick := time.NewTicker(oauthPollEvery)
	defer tick.Stop()
	lastNote := time.Now()
	for {
		st, err := c.OAuthConnection(ctx, vault, key)
		switch {
		case err == nil && st.Connected && st.ConnectedAt != before:
			return a.show(apitype.OAuthFlowDone{Vault: vault, Key: key}, func(w io.Writer) {
				fmt.Fprintf(w, "Connected %s in vault %s.\n", key, vault)
			})
		case err != nil && ctx.Err() == nil && isConnError(err):
			fmt.Fprintf(a.errOut, "  the server did not answer (%v); still waiting…\n", err)
		case err != nil && ctx.Err() == nil && !isNotFound(err):
			return fmt.Errorf("checking whether %s is connected: %w", key, err)
		}
		if time.Since(lastNote) >= 15*time.Second {
			fmt.Fprintf(a.errOut, "  still waiting (%s)…\n", time.Since(start).Round(time.Second))
			lastNote = time.Now()
		}
		select {
		case <-ctx.Done():
			if parent.Err() == nil {
				return fmt.Errorf("%s was not connected within %s: open the URL again if it is still within ten minutes, or run this command again", key, timeout.Round(time.Second))
			}
			return fmt.Errorf("stopped waiting; if you finish in the browser, %s is connected anyway (check with `agent-vault vault credential list`)", key)
		case <-tick.C:
		}
	}
}

func isConnError(err error) bool {
	var e *client.ConnError
	return errors.As(err, &e)
}

func isNotFound(err error) bool {
	var e *client.APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// openBrowser asks the desktop to open u.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	return cmd.Start()
}

// writeOAuthToConnect tells, after an approval, how to connect the OAuth
// credentials the proposal added. The approval stored the provider the
// proposal named, so the command needs only the key, the vault and the
// client secret; nothing an agent wrote (URLs, client id) is put in a
// command line to paste.
func writeOAuthToConnect(w io.Writer, p apitype.Proposal) {
	first := true
	for _, c := range p.Credentials {
		if c.Action != apitype.ProposalSet || c.Type != "oauth" {
			continue
		}
		if first {
			fmt.Fprintln(w, "Connect the OAuth credentials it added (the proxy answers oauth_not_connected until then):")
			first = false
		}
		line := "  agent-vault vault credential oauth connect " + shellQuote(c.Key) + " --vault " + shellQuote(p.Vault) + " --client-secret -"
		var missing []string
		if c.OAuth == nil || c.OAuth.AuthorizationURL == "" {
			missing = append(missing, "--authorization-url")
		}
		if c.OAuth == nil || c.OAuth.ClientID == "" {
			missing = append(missing, "--client-id")
		}
		if len(missing) > 0 {
			line += "   # the proposal named no " + strings.Join(missing, " or ") + ": add them"
		}
		fmt.Fprintln(w, propClean(line))
		if c.OAuth == nil || c.OAuth.AuthorizationURL == "" {
			// No authorization URL: the agent asks for tokens the person
			// already holds (the public API's token upload slot).
			paste := "  agent-vault vault credential oauth tokens " + shellQuote(c.Key) + " --vault " + shellQuote(p.Vault) + " --refresh-token - --client-secret -"
			if c.OAuth == nil || c.OAuth.ClientID == "" {
				paste += " --client-id …"
			}
			fmt.Fprintln(w, propClean(paste+"   # or upload tokens you already hold"))
		}
	}
	if !first {
		fmt.Fprintln(w, "  (or press Connect on the vault's credentials page in the web console)")
	}
}

// shellQuote quotes s for a POSIX shell: plain words stay as they are,
// anything else goes in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/@=+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

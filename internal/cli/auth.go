package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

func (a *app) authCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Register, log in and manage sessions"}
	cmd.AddCommand(a.registerCmd(), a.loginCmd(), a.logoutCmd(), a.acceptInviteCmd(), a.sessionsCmd(),
		a.forgotPasswordCmd(), a.resetPasswordCmd(), a.verifyCmd(), a.resendVerificationCmd())
	return cmd
}

// deviceLabel names this machine in session lists.
func deviceLabel() string {
	h, _ := os.Hostname()
	return "cli@" + h
}

func (a *app) saveSession(cfg config.Client, tok, email string) error {
	if err := config.EnsureDir(cfg.DataDir); err != nil {
		return err
	}
	return config.WriteSession(cfg.DataDir, config.CLISession{Token: tok, Address: cfg.Address, Email: email})
}

// credentials reads an email (flag, prompt or stdin line) and a password
// (hidden prompt, or the next stdin line) for register and login.
// With passwordStdin the password is the first line of standard input
// even on a terminal, and the email must come from --email.
func (a *app) credentials(email string, confirm, passwordStdin bool) (*client.Client, config.Client, apitype.Credentials, error) {
	c, cfg, err := a.anon()
	if err != nil {
		return nil, cfg, apitype.Credentials{}, err
	}
	if passwordStdin && email == "" {
		return nil, cfg, apitype.Credentials{}, errors.New("--password-stdin needs --email: standard input holds only the password")
	}
	if email, err = a.readValue(email, "Email"); err != nil {
		return nil, cfg, apitype.Credentials{}, err
	}
	read := a.readSecret
	if passwordStdin {
		read = func(string, bool) (string, error) { return a.line() }
	}
	pw, err := read("Password", confirm)
	if err != nil {
		return nil, cfg, apitype.Credentials{}, err
	}
	return c, cfg, apitype.Credentials{Email: email, Password: pw, DeviceLabel: deviceLabel()}, nil
}

func (a *app) registerCmd() *cobra.Command {
	var email, setupCode string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Create an account (the first one becomes the instance owner)",
		Long: "Create an account. The password is read from a hidden prompt, or from the first line of standard input when it is not a terminal.\n\n" +
			"The first account (the instance owner) needs the one-time setup code that the server printed when it started. " +
			"On the server's machine, as its user and with its data dir, it is read from the data dir's setup-code file; " +
			"otherwise pass --setup-code (or set " + config.EnvSetupCode + "), or type it at the prompt.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := a.setupCode(cmd.Context(), setupCode, passwordStdin)
			if err != nil {
				return err
			}
			c, cfg, in, err := a.credentials(email, true, passwordStdin)
			if err != nil {
				return err
			}
			in.SetupCode = code
			out, err := c.Register(cmd.Context(), in)
			if err != nil {
				return err
			}
			if out.Token != "" {
				if err := a.saveSession(cfg, out.Token, out.Email); err != nil {
					return err
				}
			}
			out.Token = "" // the session is saved; never print it
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "%s (%s)\n", out.Message, out.Role)
				switch {
				case out.RequiresVerification:
					fmt.Fprintf(w, "Then run: agent-vault auth verify --email %s\n", out.Email)
				case !out.Authenticated && !strings.Contains(out.Message, "auth login"):
					fmt.Fprintln(w, "Log in with `agent-vault auth login`.")
				}
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "account email")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input (needs --email)")
	cmd.Flags().StringVar(&setupCode, "setup-code", "", "the server's one-time setup code, for the first account (env "+config.EnvSetupCode+"; read from the data dir on the server's machine)")
	return cmd
}

func (a *app) loginCmd() *cobra.Command {
	var email string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in and save the session in the data dir",
		Long:  "Log in. The password is read from a hidden prompt, or from the first line of standard input when it is not a terminal.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, in, err := a.credentials(email, false, passwordStdin)
			if err != nil {
				return err
			}
			email := in.Email
			out, err := c.Login(cmd.Context(), in)
			if client.IsUnauthorized(err) && needsFirstUser(cfg.Address) {
				return errNoAccountYet
			}
			if err != nil {
				return err
			}
			if err := a.saveSession(cfg, out.Token, strings.ToLower(strings.TrimSpace(email))); err != nil {
				return err
			}
			return a.show(map[string]any{"email": email, "address": cfg.Address, "expires_at": out.ExpiresAt}, func(w io.Writer) {
				fmt.Fprintf(w, "Logged in to %s as %s.\n", cfg.Address, email)
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "account email")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input (needs --email)")
	return cmd
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the CLI session",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.authed()
			if err != nil {
				return err
			}
			_, lerr := c.Logout(cmd.Context())
			if err := config.RemoveSession(cfg.DataDir); err != nil {
				return err
			}
			if lerr != nil {
				fmt.Fprintln(a.errOut, "warning: the server did not confirm the logout:", lerr)
			}
			fmt.Fprintln(a.out, "Logged out.")
			return nil
		},
	}
}

func (a *app) acceptInviteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "accept-invite <link-or-token>",
		Short: "Accept an invite and choose your password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.anon()
			if err != nil {
				return err
			}
			tok := args[0]
			if i := strings.LastIndex(tok, "/"); i >= 0 {
				tok = tok[i+1:]
			}
			d, err := c.InviteDetails(cmd.Context(), tok)
			if err != nil {
				return err
			}
			if !a.json {
				fmt.Fprintf(a.errOut, "Invite for %s (role %s).\n", d.Email, d.Role)
			}
			pw, err := a.readSecret("Choose a password", true)
			if err != nil {
				return err
			}
			out, err := c.AcceptInvite(cmd.Context(), tok, pw)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message) })
		},
	}
}

func (a *app) sessionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sessions", Short: "List or revoke your sessions"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List your sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.Sessions(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, s := range out.Sessions {
					cur := ""
					if s.Current {
						cur = "*"
					}
					rows = append(rows, []string{s.ID, s.DeviceLabel, ts(s.CreatedAt), ts(s.LastUsedAt), ts(s.ExpiresAt), cur})
				}
				a.table([]string{"ID", "DEVICE", "CREATED", "LAST USED", "EXPIRES", "CURRENT"}, rows)
			})
		},
	}, &cobra.Command{
		Use:   "revoke <id>",
		Short: "Revoke one of your sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cfg, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.RevokeSession(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if out.Current {
				_ = config.RemoveSession(cfg.DataDir)
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Session %s revoked.\n", args[0]) })
		},
	})
	return cmd
}

// ts formats a time for tables.
func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// setupCode finds the setup code register sends: --setup-code, then
// AGENT_VAULT_SETUP_CODE, then the setup-code file that the server at
// the CLI's address wrote to this data dir; failing those, it asks on a
// terminal when the server has no account yet. "" sends none: a server
// with accounts needs none, and a fresh one answers where to find it.
func (a *app) setupCode(ctx context.Context, flag string, passwordStdin bool) (string, error) {
	if flag != "" {
		return flag, nil
	}
	cfg, err := a.clientConfig()
	if err != nil {
		return "", err
	}
	if cfg.SetupCode != "" {
		return cfg.SetupCode, nil
	}
	if code, ok := config.SetupCodeFor(cfg.DataDir, cfg.Address); ok {
		return code, nil
	}
	if passwordStdin || !a.stdinIsTTY() {
		return "", nil
	}
	st, err := client.New(client.Options{BaseURL: cfg.Address}).Status(ctx)
	if err != nil || !st.NeedsFirstUser {
		return "", nil // register says what is wrong
	}
	fmt.Fprintln(a.errOut, "This server has no account yet: the first one becomes its owner and needs the one-time setup code")
	fmt.Fprintln(a.errOut, "that the server printed when it started (the line \"first run: …\", field setup_code).")
	return a.readSecret("Setup code", false)
}

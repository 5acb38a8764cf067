package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// serviceFile is the YAML form of `vault service list` and `set -f`.
type serviceFile struct {
	Vault    string            `yaml:"vault,omitempty"`
	Services []apitype.Service `yaml:"services"`
}

// readServiceFile decodes a service YAML file ("-" is stdin), rejecting
// unknown fields with their line numbers.
func (a *app) readServiceFile(path string) ([]apitype.Service, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(a.in, 4<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f serviceFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s is empty: it needs a `services:` list", path)
		}
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if f.Services == nil {
		return nil, fmt.Errorf("%s has no `services:` list (use `services: []` to mean none)", path)
	}
	return f.Services, nil
}

func (a *app) serviceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Aliases: []string{"services"}, Short: "Manage a vault's services (which traffic gets which credential)"}
	setup := a.vaultScoped(cmd)
	var (
		file        string
		yes         bool
		name, host  string
		authType    string
		token, user string
		pass, key   string
		header      string
		prefix      string
		fromCatalog string
		rules       serviceRuleFlags
		noRedact    bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the vault's services as YAML (JSON with --json)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.Services(cmd.Context(), rv.Name)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(out)
			}
			enc := yaml.NewEncoder(a.out)
			enc.SetIndent(2)
			defer enc.Close()
			return enc.Encode(serviceFile{Vault: out.Vault, Services: out.Services})
		},
	}
	set := &cobra.Command{
		Use:   "set -f FILE",
		Short: "Replace all of the vault's services with those in a YAML file (- for stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.replaceServices(cmd, setup, file, false)
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "YAML file with a services: list")
	_ = set.MarkFlagRequired("file")
	validate := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check a service file against the vault without changing anything",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.replaceServices(cmd, setup, file, true)
		},
	}
	validate.Flags().StringVarP(&file, "file", "f", "", "YAML file with a services: list")
	_ = validate.MarkFlagRequired("file")

	add := &cobra.Command{
		Use:   "add",
		Short: "Add a service, or replace the one with the same name",
		Long: `Add a service from flags, from a file (-f), or from the catalog (--from-catalog).

  agent-vault vault service add --name stripe --host api.stripe.com --auth bearer --token STRIPE_KEY
  agent-vault vault service add --from-catalog github
  agent-vault vault service add -f services.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var svcs []apitype.Service
			c, rv, err := setup()
			if err != nil {
				return err
			}
			switch {
			case file != "":
				if svcs, err = a.readServiceFile(file); err != nil {
					return err
				}
			case fromCatalog != "":
				s, err := catalogService(cmd, c, fromCatalog, name)
				if err != nil {
					return err
				}
				svcs = []apitype.Service{s}
			default:
				if name == "" || host == "" || authType == "" {
					return errors.New("give --name, --host and --auth (or -f FILE, or --from-catalog ID)")
				}
				svcs = []apitype.Service{{Name: name, Host: host, Auth: apitype.ServiceAuth{
					Type: authType, Token: token, Username: user, Password: pass, Key: key, Header: header, Prefix: prefix,
				}}}
			}
			if err := rules.apply(svcs, file != ""); err != nil {
				return err
			}
			if noRedact {
				if file != "" {
					return errors.New("--no-redact-responses does not apply to -f: set redact_responses: false in the file")
				}
				off := false
				svcs[0].RedactResponses = &off
			}
			out, err := c.UpsertServices(cmd.Context(), rv.Name, svcs)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "Saved %s in vault %s (%d services).\n", strings.Join(out.Upserted, ", "), out.Vault, out.ServicesCount)
			})
		},
	}
	af := add.Flags()
	af.StringVarP(&file, "file", "f", "", "YAML file with a services: list")
	af.StringVar(&fromCatalog, "from-catalog", "", "catalog template id ('agent-vault catalog' lists them)")
	af.StringVar(&name, "name", "", "service name (lowercase, digits, hyphens)")
	af.StringVar(&host, "host", "", "host pattern: api.example.com, *.example.com, example.com/api/*, host:port")
	af.StringVar(&authType, "auth", "", "bearer, basic, api-key, custom or passthrough")
	af.StringVar(&token, "token", "", "bearer: credential key")
	af.StringVar(&user, "username", "", "basic: credential key of the user name")
	af.StringVar(&pass, "password", "", "basic: credential key of the password")
	af.StringVar(&key, "key", "", "api-key: credential key")
	af.StringVar(&header, "header", "", "api-key: header name (default Authorization)")
	af.StringVar(&prefix, "prefix", "", "api-key: literal prefix before the value")
	af.BoolVar(&noRedact, "no-redact-responses", false, "pass responses through without replacing credential values (binary downloads; users only, see docs/proxy.md)")
	rules.register(af)

	toggle := func(use, short string, enabled bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " <name-or-host>",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, rv, err := setup()
				if err != nil {
					return err
				}
				out, err := c.SetServiceEnabled(cmd.Context(), rv.Name, args[0], enabled)
				if err != nil {
					return explainAmbiguous(err)
				}
				return a.show(out, func(w io.Writer) {
					state := "disabled"
					if out.Enabled {
						state = "enabled"
					}
					fmt.Fprintf(w, "Service %s (%s) %s.\n", out.Name, out.Host, state)
				})
			},
		}
	}
	remove := &cobra.Command{
		Use:   "remove <name-or-host>",
		Short: "Remove one service",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.RemoveService(cmd.Context(), rv.Name, args[0])
			if err != nil {
				return explainAmbiguous(err)
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "Removed service %s (%s); %d left.\n", out.Removed, out.RemovedHost, out.ServicesCount)
			})
		},
	}
	clearCmd := &cobra.Command{
		Use:   "clear",
		Short: "Remove every service of the vault",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			if !yes {
				return errNeedYes("this removes every service of vault " + rv.Name)
			}
			out, err := c.ClearServices(cmd.Context(), rv.Name)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Removed every service of vault %s.\n", out.Vault) })
		},
	}
	clearCmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	cmd.AddCommand(list, set, validate, add, toggle("enable", "Enable a service", true), toggle("disable", "Disable a service (its traffic gets 403 service_disabled)", false), remove, clearCmd)
	return cmd
}

// replaceServices runs `set -f` or, with dryRun, `validate -f`.
func (a *app) replaceServices(cmd *cobra.Command, setup func() (*client.Client, config.ResolvedVault, error), file string, dryRun bool) error {
	svcs, err := a.readServiceFile(file)
	if err != nil {
		return err
	}
	c, rv, err := setup()
	if err != nil {
		return err
	}
	out, err := c.ReplaceServices(cmd.Context(), rv.Name, svcs, dryRun)
	if err != nil {
		return err
	}
	return a.show(out, func(w io.Writer) {
		if dryRun {
			fmt.Fprintf(w, "%s is valid for vault %s (%d services); nothing was changed.\n", file, out.Vault, out.ServicesCount)
			return
		}
		fmt.Fprintf(w, "Vault %s now has %d services.\n", out.Vault, out.ServicesCount)
	})
}

// explainAmbiguous lists the candidates of a 409 for a bare host.
func explainAmbiguous(err error) error {
	var e *client.APIError
	if !errors.As(err, &e) || len(e.Body.Candidates) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(e.Body.Error)
	for _, c := range e.Body.Candidates {
		fmt.Fprintf(&b, "\n  %s\t%s", c.Name, c.Host)
	}
	return errors.New(b.String())
}

// catalogService turns a catalog template into a service.
func catalogService(cmd *cobra.Command, c *client.Client, id, name string) (apitype.Service, error) {
	cat, err := c.Catalog(cmd.Context())
	if err != nil {
		return apitype.Service{}, err
	}
	for _, e := range cat.Services {
		if e.ID == id {
			if name == "" {
				name = e.ID
			}
			return apitype.Service{Name: name, Host: e.Host, Auth: e.Auth}, nil
		}
	}
	return apitype.Service{}, fmt.Errorf("no catalog entry %q: list them with `agent-vault catalog`", id)
}

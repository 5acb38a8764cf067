package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// doctorCheck is one line of `agent-vault doctor`.
type doctorCheck struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

func (a *app) doctorCmd() *cobra.Command {
	var host, vault string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that an agent can reach the server and the proxy, and trusts the CA",
		Long: `Run the checks an agent's setup depends on, in order, each with a pass/fail
line and a fix: server reachable, version match, token valid (and which vault it
reaches), proxy reachable and authenticating, CA file present and trusted through
SSL_CERT_FILE and friends, a round trip through the proxy to --host, clock skew.

Uses AGENT_VAULT_TOKEN/AGENT_VAULT_ADDR when set (as inside 'agent-vault run'),
else the CLI's login. The vault is --vault, else AGENT_VAULT_VAULT, else (for
the CLI's login) agent-vault.json and 'vault use', else the token's only vault
or default. The proxy check is answered by the proxy itself and leaves no row
in the request log; the --host round trip is a real request and is logged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := a.doctor(cmd.Context(), host, vault)
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if a.json {
				if err := a.printJSON(map[string]any{"ok": failed == 0, "checks": checks}); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "PASS"
					if !c.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(a.out, "%s  %-22s %s\n", mark, c.Check, c.Detail)
					if !c.OK && c.Fix != "" {
						fmt.Fprintf(a.out, "      fix: %s\n", c.Fix)
					}
				}
			}
			if failed > 0 {
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "a host to reach through the proxy for the round-trip check (e.g. api.github.com)")
	cmd.Flags().StringVar(&vault, "vault", "", "the vault to check (default: see the command's help)")
	return cmd
}

// doctor runs the checks; later checks are skipped once one they need fails.
func (a *app) doctor(ctx context.Context, host, vaultFlag string) []doctorCheck {
	var out []doctorCheck
	add := func(c doctorCheck) bool { out = append(out, c); return c.OK }
	agent := config.LoadAgentEnv(nil)
	addr, tok, vault := agent.Addr, agent.Token, strings.TrimSpace(vaultFlag)
	asAgent := tok != "" && addr != ""
	if asAgent {
		if vault == "" {
			vault = agent.Vault // else the server picks the token's only vault
		}
	} else {
		cfg, err := a.clientConfig()
		if err != nil {
			add(doctorCheck{Check: "configuration", Detail: err.Error()})
			return out
		}
		addr, tok = cfg.Address, ""
		if s, err := config.ReadSession(cfg.DataDir); err == nil {
			tok = s.Token
		}
		rv, err := a.resolveVault(vaultFlag)
		if err != nil {
			add(doctorCheck{Check: "vault", Detail: err.Error(), Fix: "name the vault with --vault"})
			return out
		}
		vault = rv.Name
	}
	c := client.New(client.Options{BaseURL: addr, Token: tok})

	// 1. Server reachable, and 7 (clock) from the same answer.
	st, err := c.Status(ctx)
	if !add(doctorCheck{Check: "server reachable", OK: err == nil, Detail: addr, Fix: "start it with `agent-vault server`, or set AGENT_VAULT_ADDR / --address to where it runs"}) {
		out[len(out)-1].Detail = err.Error()
		return out
	}
	add(doctorCheck{Check: "version", OK: st.Version == build.Ident(), Detail: "server " + st.Version + ", CLI " + build.Ident(),
		Fix: "use the same agent-vault build for the CLI and the server"})

	// 3. Token.
	if tok == "" {
		fix := "log in with `agent-vault auth login`, or set AGENT_VAULT_TOKEN (agent-vault run does)"
		if st.NeedsFirstUser {
			fix = "this server has no account yet: create the first with `agent-vault auth register`"
		}
		add(doctorCheck{Check: "token", Detail: "no token", Fix: fix})
		return out
	}
	d, err := c.Discover(ctx, vault)
	if err != nil {
		add(doctorCheck{Check: "token", Detail: err.Error(), Fix: tokenFix(err, asAgent)})
		return out
	}
	add(doctorCheck{Check: "token", OK: true, Detail: fmt.Sprintf("reaches vault %s (%d services, %d credentials)", d.Vault, len(d.Services), len(d.AvailableCredentials))})

	// 4. Proxy reachable and authenticating.
	if st.ProxyPort == 0 {
		add(doctorCheck{Check: "proxy", Detail: "the server runs without the broker proxy",
			Fix: "restart the server without --mitm-port 0 (or AGENT_VAULT_MITM_PORT=0); the proxy listens on 14322 by default"})
		return out
	}
	u, _ := url.Parse(addr)
	proxyAddr := net.JoinHostPort(u.Hostname(), strconv.Itoa(st.ProxyPort))
	proxyURL := &url.URL{Scheme: "http", Host: proxyAddr, User: url.UserPassword(tok, d.Vault)}
	code, probe, err := proxyProbe(ctx, proxyURL)
	switch {
	case err != nil:
		add(doctorCheck{Check: "proxy", Detail: proxyAddr + ": " + err.Error(), Fix: "check that nothing (a firewall, another HTTPS_PROXY) stands between here and " + proxyAddr})
		return out
	case code == http.StatusProxyAuthRequired:
		add(doctorCheck{Check: "proxy", Detail: proxyAddr + " refused the token (407)", Fix: "the token is unknown, expired or revoked: " + freshTokenFix(asAgent)})
		return out
	case code != http.StatusOK || !probe.OK || probe.Vault != d.Vault:
		add(doctorCheck{Check: "proxy", Detail: fmt.Sprintf("%s answered the check with %d (vault %q)", proxyAddr, code, probe.Vault),
			Fix: "is " + proxyAddr + " the Agent Vault proxy of the same server, of the same version?"})
		return out
	}
	add(doctorCheck{Check: "proxy", OK: true, Detail: proxyAddr + " accepts the token for vault " + probe.Vault})

	// 5. CA file.
	caPEM, err := c.CAPEM(ctx)
	if err != nil {
		add(doctorCheck{Check: "CA", Detail: err.Error(), Fix: "fetch it with `agent-vault ca fetch -o ca.pem`"})
		return out
	}
	caOK, caDetail := caTrusted(caPEM)
	add(doctorCheck{Check: "CA trusted", OK: caOK, Detail: caDetail,
		Fix: "run the agent under `agent-vault run`, or point SSL_CERT_FILE (and REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS, …) at a file holding `agent-vault ca fetch`'s certificate"})

	// 6. Round trip.
	if host != "" {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		if roots, err := x509.SystemCertPool(); err == nil {
			for _, b := range pemBlocks(caPEM) {
				roots.AddCert(b)
			}
			pool = roots
		}
		hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := hc.Get("https://" + host + "/")
		if err != nil {
			add(doctorCheck{Check: "round trip", Detail: err.Error(), Fix: "check the host name, the vault's services and unmatched_host_policy"})
		} else {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			ok := resp.Header.Get("X-Agent-Vault-Proxy-Error") == ""
			detail := fmt.Sprintf("https://%s/ answered %d", host, resp.StatusCode)
			if !ok {
				detail += " from the broker: " + string(bytes.TrimSpace(b))
			}
			add(doctorCheck{Check: "round trip", OK: ok, Detail: detail, Fix: "read the broker's error above; `agent-vault vault discover` lists what the vault brokers"})
		}
	}

	// 7. Clock skew, from the server's Date header.
	skew, err := clockSkew(ctx, addr)
	if err != nil {
		add(doctorCheck{Check: "clock", Detail: err.Error()})
	} else {
		add(doctorCheck{Check: "clock", OK: skew < 30*time.Second && skew > -30*time.Second, Detail: fmt.Sprintf("skew %s", skew.Round(time.Second)),
			Fix: "sync the clocks (NTP): tokens and certificates depend on them"})
	}
	return out
}

// proxyProbe asks the proxy for its own answer about these credentials
// (apitype.ProxyProbeHost): it is never forwarded and leaves no row in the
// request log.
func proxyProbe(ctx context.Context, proxy *url.URL) (int, apitype.ProxyProbe, error) {
	var p apitype.ProxyProbe
	tr := &http.Transport{Proxy: http.ProxyURL(proxy)}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+apitype.ProxyProbeHost+"/", nil)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, p, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&p)
	}
	return resp.StatusCode, p, nil
}

// tokenFix is the fix for a token the server refused, by the kind of
// refusal and whose token it is (an agent's, or the CLI's login).
func tokenFix(err error, asAgent bool) string {
	var ae *client.APIError
	errors.As(err, &ae)
	switch {
	case ae != nil && ae.Body.Code == "vault_required":
		if asAgent {
			return "name the vault: --vault, or AGENT_VAULT_VAULT"
		}
		return "name the vault: --vault, or `agent-vault vault use <name>`"
	case client.IsNotFound(err):
		return "check the vault's name: `agent-vault vault list` shows yours"
	case client.IsForbidden(err):
		return "ask a vault admin for a role in this vault"
	case client.IsUnauthorized(err):
		return "the token is unknown, expired or revoked: " + freshTokenFix(asAgent)
	}
	return "read the error above"
}

// freshTokenFix says how to get a working token of the same kind.
func freshTokenFix(asAgent bool) string {
	if asAgent {
		return "get a new one (`agent-vault agent rotate <agent>` for an agent token, `agent-vault vault token` for a vault session, or restart `agent-vault run`)"
	}
	return "log in again with `agent-vault auth login`"
}

// caTrusted reports whether the CA variables an agent's clients read hold
// the broker's certificate.
func caTrusted(caPEM []byte) (bool, string) {
	want := pemBlocks(caPEM)
	if len(want) == 0 {
		return false, "the server sent no certificate"
	}
	files := config.CAFiles(nil)
	if len(files) == 0 {
		return false, "no SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS or GIT_SSL_CAINFO is set"
	}
	var names []string
	for _, nv := range files {
		name, path := nv[0], nv[1]
		b, err := os.ReadFile(path)
		if err != nil {
			return false, name + "=" + path + " cannot be read: " + err.Error()
		}
		if !slices.ContainsFunc(pemBlocks(b), want[0].Equal) {
			return false, name + "=" + path + " does not hold the broker CA"
		}
		names = append(names, name)
	}
	return true, strings.Join(names, ", ") + " hold the broker CA"
}

func pemBlocks(b []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// clockSkew compares the server's Date with the local clock.
func clockSkew(ctx context.Context, addr string) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/health", nil)
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return 0, fmt.Errorf("the server sent no Date header")
	}
	return time.Since(d), nil
}

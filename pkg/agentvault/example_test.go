package agentvault_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/agent-vault/agent-vault/pkg/agentvault"
)

// ProxyEnv returns the variables `agent-vault run` would set for an agent
// holding a scoped session.
func ExampleProxyEnv() {
	env := agentvault.ProxyEnv(agentvault.ProxyEnvOptions{
		Addr:          "http://127.0.0.1:14321",
		Token:         "av_sess_example",
		Vault:         "default",
		Scoped:        true,
		ProxyPort:     14322,
		CAFile:        "/tmp/av/ca.pem",
		CABundleFile:  "/tmp/av/ca-bundle.pem",
		ParentNoProxy: []string{"localhost", "internal.example.com"},
	})
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("%s=%s\n", k, env[k])
	}
	// Output:
	// AGENT_VAULT_ADDR=http://127.0.0.1:14321
	// AGENT_VAULT_TOKEN=av_sess_example
	// AGENT_VAULT_VAULT=default
	// CURL_CA_BUNDLE=/tmp/av/ca-bundle.pem
	// DENO_CERT=/tmp/av/ca-bundle.pem
	// GIT_SSL_CAINFO=/tmp/av/ca-bundle.pem
	// HTTPS_PROXY=http://av_sess_example:default@127.0.0.1:14322
	// HTTP_PROXY=http://av_sess_example:default@127.0.0.1:14322
	// NODE_EXTRA_CA_CERTS=/tmp/av/ca.pem
	// NODE_USE_ENV_PROXY=1
	// NO_PROXY=localhost,127.0.0.1,internal.example.com
	// OPENCLAW_PROXY_URL=http://av_sess_example:default@127.0.0.1:14322
	// REQUESTS_CA_BUNDLE=/tmp/av/ca-bundle.pem
	// SSL_CERT_FILE=/tmp/av/ca-bundle.pem
	// http_proxy=http://av_sess_example:default@127.0.0.1:14322
	// https_proxy=http://av_sess_example:default@127.0.0.1:14322
	// no_proxy=localhost,127.0.0.1,internal.example.com
}

// An agent token is instance-wide, so the proxy URL names the vault too.
func ExampleProxyEnv_agentToken() {
	env := agentvault.ProxyEnv(agentvault.ProxyEnvOptions{
		Addr:      "https://vault.example.com",
		Token:     "av_agt_example",
		Vault:     "payments",
		ProxyHost: "proxy.vault.example.com",
		ProxyPort: 14322,
	})
	fmt.Println(env["HTTPS_PROXY"])
	// Output: http://av_agt_example:payments@proxy.vault.example.com:14322
}

// MergeEnviron lays the proxy variables over a parent environment,
// dropping the parent's own proxy settings.
func ExampleMergeEnviron() {
	parent := []string{"PATH=/usr/bin", "https_proxy=http://corp-proxy:3128", "HOME=/home/agent"}
	env := agentvault.MergeEnviron(parent, map[string]string{"HTTPS_PROXY": "http://av_sess_x@127.0.0.1:14322"})
	for _, kv := range env {
		fmt.Println(kv)
	}
	// Output:
	// PATH=/usr/bin
	// HOME=/home/agent
	// HTTPS_PROXY=http://av_sess_x@127.0.0.1:14322
}

// An orchestrator mints a short-lived session, writes the broker's CA where
// the sandbox can read it, and starts the agent in a container with the
// environment `agent-vault run` would give it; the session is revoked when
// the agent exits.
func ExampleClient_CreateSession() {
	ctx := context.Background()
	c := agentvault.New("http://127.0.0.1:14321", os.Getenv("AGENT_VAULT_USER_TOKEN"))

	st, err := c.Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.CreateSession(ctx, agentvault.SessionRequest{Vault: "default", TTL: time.Hour, Label: "sandboxed agent"})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = c.RevokeSession(context.Background(), s.ID) }()

	ca, err := c.FetchCA(ctx)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "agent")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
		log.Fatal(err)
	}

	// Inside the container the host is host.docker.internal and the CA is
	// mounted at /av/ca.pem. (A real setup would also add the system roots
	// to the bundle, as `agent-vault run` does.)
	env := agentvault.ProxyEnv(agentvault.ProxyEnvOptions{
		Addr: "http://host.docker.internal:14321", Token: s.Token, Vault: s.Vault, Scoped: true,
		ProxyHost: "host.docker.internal", ProxyPort: st.ProxyPort,
		CAFile: "/av/ca.pem", CABundleFile: "/av/ca.pem",
	})
	args := []string{"run", "--rm", "-v", dir + ":/av:ro"}
	for k, v := range env {
		args = append(args, "-e", k+"="+v)
	}
	cmd := exec.CommandContext(ctx, "docker", append(args, "my-agent-image")...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Print(err)
	}
}

// An agent started by `agent-vault run` asks what its vault offers.
func ExampleClient_Discover() {
	// A stand-in for the server, so that the example runs.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path, "X-Vault:", r.Header.Get("X-Vault"))
		_, _ = io.WriteString(w, `{"vault":"my-vault","services":[{"name":"stripe","host":"api.stripe.com"}],"available_credentials":["STRIPE_KEY"]}`)
	}))
	defer srv.Close()

	c := agentvault.New(srv.URL, "av_agt_example", agentvault.WithVault("my-vault"))
	d, err := c.Discover(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range d.Services {
		fmt.Printf("%s: %s\n", s.Name, s.Host)
	}
	fmt.Println("credentials:", d.AvailableCredentials)
	// Output:
	// GET /discover X-Vault: my-vault
	// stripe: api.stripe.com
	// credentials: [STRIPE_KEY]
}

// An agent asks a human for a new service and waits for the decision.
func ExampleClient_WaitProposal() {
	ctx := context.Background()
	c, err := agentvault.NewFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	created, err := c.CreateProposal(ctx, agentvault.ProposalRequest{
		Services: []agentvault.ProposalService{{
			Action: "set", Name: "stripe", Host: "api.stripe.com",
			Auth: &agentvault.ServiceAuth{Type: "bearer", Token: "STRIPE_KEY"},
		}},
		Credentials: []agentvault.ProposalCredential{{
			Action: "set", Key: "STRIPE_KEY", Description: "Stripe API key",
			Obtain: "https://dashboard.stripe.com/apikeys",
		}},
		Message:     "needed to list charges",
		UserMessage: "The agent needs read access to Stripe.",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Please approve:", created.ApprovalURL)

	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	p, err := c.WaitProposal(ctx, created.ID) // every 3 s for 30 s, then every 10 s
	if err != nil {
		log.Fatal(err)
	}
	switch p.Status {
	case agentvault.StatusApplied:
		fmt.Println("approved")
	case agentvault.StatusRejected:
		fmt.Println("rejected:", p.RejectionReason)
	default:
		fmt.Println(p.Status)
	}
}

// PollInterval is the recommended wait between looks at a pending proposal.
func ExamplePollInterval() {
	for _, elapsed := range []time.Duration{0, 27 * time.Second, 30 * time.Second, 5 * time.Minute} {
		fmt.Println(elapsed, "->", agentvault.PollInterval(elapsed))
	}
	// Output:
	// 0s -> 3s
	// 27s -> 3s
	// 30s -> 10s
	// 5m0s -> 10s
}

// An agent's own HTTP client, going through the broker proxy, tells the
// broker's errors from the upstream's.
func ExampleProxyErrorFromResponse() {
	// A stand-in for the proxy refusing a host the vault has no service for.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(agentvault.ProxyErrorHeader, "true")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":"forbidden","message":"no service of this vault matches api.example.com, and the vault denies unmatched hosts",`+
			`"help":"ask for access with a proposal","proposal_hint":{"host":"api.example.com","endpoint":"POST /v1/proposals","supported_auth_types":["bearer"]}}`)
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if e, ok := agentvault.ProxyErrorFromResponse(resp); ok {
		fmt.Println(e.Code, e.Status)
		if e.ProposalHint != nil {
			fmt.Println("ask for", e.ProposalHint.Host, "with", e.ProposalHint.Endpoint)
		}
		fmt.Println(agentvault.IsCode(e, agentvault.ErrCodeForbidden))
	}
	// Output:
	// forbidden 403
	// ask for api.example.com with POST /v1/proposals
	// true
}

// IsCode tells the broker's error codes apart, through any wrapping.
func ExampleIsCode() {
	err := fmt.Errorf("calling stripe: %w", &agentvault.Error{Status: 502, Code: agentvault.ErrCodeCredentialNotFound, Message: "credential STRIPE_KEY is not set"})
	switch {
	case agentvault.IsCode(err, agentvault.ErrCodeCredentialNotFound):
		fmt.Println("ask a human to set the credential")
	case agentvault.IsCode(err, agentvault.ErrCodeForbidden):
		fmt.Println("raise a proposal")
	}
	var e *agentvault.Error
	if errors.As(err, &e) {
		fmt.Println(e)
	}
	// Output:
	// ask a human to set the credential
	// agent vault: credential STRIPE_KEY is not set (502 credential_not_found)
}

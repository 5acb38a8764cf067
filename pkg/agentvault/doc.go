// Package agentvault is the Go SDK for agents and orchestrators that use an
// Agent Vault server: a credential broker that injects secrets into an
// agent's HTTPS traffic so that the agent never holds them.
//
// It covers the agent side of the protocol (docs/protocol.md in the
// repository):
//
//   - [Client] talks to the control plane: it mints and revokes short-lived
//     vault-scoped sessions ([Client.CreateSession], [Client.RevokeSession]),
//     asks what a vault brokers ([Client.Discover]), raises proposals and waits
//     for a human to decide on them ([Client.CreateProposal],
//     [Client.WaitProposal]), and fetches the broker's root CA
//     ([Client.FetchCA]).
//   - [ProxyEnv] returns the environment `agent-vault run` gives its child, so
//     an orchestrator can launch an agent elsewhere (a container, a microVM,
//     another host) with a short-lived token, and [MergeEnviron] lays it over
//     a parent environment.
//   - [Error] is every error the server or the broker proxy answers with, and
//     [ProxyErrorFromResponse] recognises the broker's own errors on responses
//     an agent receives through the proxy.
//
// Wire types that the SDK shares with the server ([Proposal],
// [ProposalRequest], [Discovery], …) are type aliases of the server's own
// definitions, so the SDK and the server cannot drift apart; they are usable
// from any module even though the package they alias is internal.
//
// A typical orchestrator mints a session for one agent run:
//
//	c := agentvault.New("https://vault.example.com", userToken)
//	st, err := c.Status(ctx) // st.ProxyPort is the broker proxy's port
//	…
//	s, err := c.CreateSession(ctx, agentvault.SessionRequest{Vault: "ci", TTL: time.Hour})
//	…
//	defer c.RevokeSession(context.Background(), s.ID)
//	// FetchCA, and write the CA where the sandbox can read it (caPath) …
//	env := agentvault.ProxyEnv(agentvault.ProxyEnvOptions{
//		Addr: c.Addr(), Token: s.Token, Vault: s.Vault, Scoped: true,
//		ProxyPort: st.ProxyPort, CAFile: caPath, CABundleFile: caPath,
//	})
//	// start the agent with env (see MergeEnviron and the examples)
//
// An agent started that way (or by `agent-vault run`) builds its client with
// [NewFromEnv].
package agentvault

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// proposalCmd is `vault proposal`: change requests raised by agents (or
// users) and their review by a human.
func (a *app) proposalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "proposal",
		Aliases: []string{"proposals"},
		Short:   "Raise, review, approve and reject proposals (requested changes to a vault)",
		Long: `A proposal asks for services and credentials to be added to, changed in or
removed from a vault. Nothing changes until a user with the member role or
higher in that vault approves it; agent tokens can never approve or reject.

  agent-vault vault proposal list --status pending
  agent-vault vault proposal show 3
  agent-vault vault proposal approve 3                 # prompts for missing values
  agent-vault vault proposal reject 4 --reason "use the sandbox key"
  agent-vault vault proposal review                    # walk through every pending one`,
	}
	setup := a.vaultScoped(cmd)
	cmd.AddCommand(a.proposalCreateCmd(setup), a.proposalListCmd(setup), a.proposalShowCmd(),
		a.proposalApproveCmd(), a.proposalRejectCmd(), a.proposalReviewCmd(setup))
	return cmd
}

type proposalSetup = func() (*client.Client, config.ResolvedVault, error)

// propReviewVault is the vault a listing is narrowed to: the resolved one,
// unless nothing chose it (then "" = every vault the user reviews).
func propReviewVault(rv config.ResolvedVault) string {
	if rv.Source == config.FromDefault {
		return ""
	}
	return rv.Name
}

// parseProposalID reads a proposal id argument.
func parseProposalID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a proposal id: ids are positive numbers (see `agent-vault vault proposal list`)", s)
	}
	return id, nil
}

// proposalErr adds the next step to the errors of the proposal commands.
func proposalErr(err error, id int64) error {
	var e *client.APIError
	if !errors.As(err, &e) {
		return err
	}
	msg := e.Error()
	switch {
	case e.Status == http.StatusNotFound && id != 0:
		return fmt.Errorf("%s: list the proposals you can review with `agent-vault vault proposal list`", msg)
	case e.Status == http.StatusForbidden:
		return fmt.Errorf("%s: reviewing proposals needs a user login with the member role or higher in the vault (ask a vault admin: `agent-vault vault user set-role`)", msg)
	case e.Status == http.StatusConflict && e.Body.Code == "proposal_changed":
		return fmt.Errorf("%s: see it again with `agent-vault vault proposal show %d`", msg, id)
	case e.Status == http.StatusConflict && strings.HasPrefix(e.Body.Code, "proposal_"):
		return fmt.Errorf("%s: nothing to do (see it with `agent-vault vault proposal show %d`; the agent can raise a new one)", msg, id)
	case e.Status == http.StatusConflict && len(e.Body.Candidates) > 0:
		return explainAmbiguous(err)
	case e.Status == http.StatusConflict && id != 0:
		return fmt.Errorf("%s: nothing was changed; adjust the vault first, or reject it with `agent-vault vault proposal reject %d --reason TEXT`", msg, id)
	case e.Status == http.StatusBadRequest && e.Body.Field != "" && !strings.Contains(msg, e.Body.Field):
		return fmt.Errorf("%s: %s", e.Body.Field, msg)
	}
	return err
}

// reviewGet reads a proposal as a reviewer, falling back to the
// agent-side view for users who may only see it (proxy role).
func reviewGet(cmd *cobra.Command, c *client.Client, id int64) (apitype.Proposal, error) {
	p, err := c.AdminProposal(cmd.Context(), id)
	if client.IsForbidden(err) {
		if q, err2 := c.Proposal(cmd.Context(), id); err2 == nil {
			return q, nil
		}
	}
	if err != nil {
		return p, proposalErr(err, id)
	}
	return p, nil
}

// reviewList lists proposals as a reviewer (every vault when vault is
// empty), falling back to the agent-side listing of one vault.
func reviewList(cmd *cobra.Command, c *client.Client, vault, status string) (apitype.ProposalList, error) {
	out, err := c.AdminProposals(cmd.Context(), vault, status)
	if client.IsForbidden(err) { // an agent: its own vault's listing
		if l, err2 := c.Proposals(cmd.Context(), vault, status); err2 == nil {
			return l, nil
		}
	}
	if err != nil {
		return out, proposalErr(err, 0)
	}
	return out, nil
}

func (a *app) proposalCreateCmd(setup proposalSetup) *cobra.Command {
	var (
		file                     string
		name, host, authType     string
		token, user, pass, key   string
		header, prefix           string
		creds                    []string
		message, userMessage     string
		deleteServices, delCreds []string
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Raise a proposal: from flags for one service and its credentials, or from a JSON file",
		Long: `Raise a proposal a vault member will review. From flags (one service):

  agent-vault vault proposal create --name stripe --host api.stripe.com \
      --auth bearer --token STRIPE_KEY --credential "STRIPE_KEY=Stripe secret key" \
      --user-message "needed to refund order 1234"

--credential KEY[=description] asks for a credential slot (repeatable): the
reviewer supplies its value at approval. Or from a JSON file (- for standard
input) holding the body of POST /v1/proposals:

  {"services":[{"action":"set","name":"stripe","host":"api.stripe.com",
                "auth":{"type":"bearer","token":"STRIPE_KEY"}}],
   "credentials":[{"action":"set","key":"STRIPE_KEY","description":"Stripe key"}],
   "message":"for the developer","user_message":"for the human approving"}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flagged := name != "" || host != "" || authType != "" || len(creds) > 0 || len(deleteServices) > 0 || len(delCreds) > 0
			var in apitype.CreateProposalRequest
			if file != "" {
				if flagged {
					return errors.New("give either -f FILE or the service and credential flags, not both")
				}
				f, err := a.readProposalFile(file)
				if err != nil {
					return err
				}
				in = f
			} else {
				if !flagged {
					return errors.New("nothing to propose: give --name, --host and --auth for a service, --credential KEY for a credential slot, or -f FILE (see --help)")
				}
				if name != "" || host != "" || authType != "" {
					if host == "" && name == "" {
						return errors.New("a service needs --name (new service) or --host (naming one existing service)")
					}
					if authType == "" {
						return errors.New("a service needs --auth: bearer, basic, api-key, custom or passthrough")
					}
					in.Services = append(in.Services, apitype.ProposalService{Action: apitype.ProposalSet, Name: name, Host: host, Auth: &apitype.ServiceAuth{
						Type: authType, Token: token, Username: user, Password: pass, Key: key, Header: header, Prefix: prefix,
					}})
				}
				for _, ref := range deleteServices {
					in.Services = append(in.Services, apitype.ProposalService{Action: apitype.ProposalDelete, Name: ref})
				}
				seen := map[string]bool{}
				for _, spec := range creds {
					k, desc, _ := strings.Cut(spec, "=")
					k = strings.TrimSpace(k)
					if k == "" {
						return fmt.Errorf("--credential %q needs a KEY (KEY or KEY=description)", spec)
					}
					if seen[k] {
						return fmt.Errorf("credential %s is given twice", k)
					}
					seen[k] = true
					in.Credentials = append(in.Credentials, apitype.ProposalCredential{Action: apitype.ProposalSet, Key: k, Description: desc})
				}
				for _, k := range delCreds {
					if seen[k] {
						return fmt.Errorf("credential %s is both set and deleted", k)
					}
					seen[k] = true
					in.Credentials = append(in.Credentials, apitype.ProposalCredential{Action: apitype.ProposalDelete, Key: k})
				}
			}
			if cmd.Flags().Changed("message") {
				in.Message = message
			}
			if cmd.Flags().Changed("user-message") {
				in.UserMessage = userMessage
			}
			c, rv, err := setup()
			if err != nil {
				return err
			}
			vault := rv.Name
			if in.Vault != "" && rv.Source != config.FromFlag {
				vault = in.Vault // the file names its vault; only --vault overrides it
			}
			in.Vault = ""
			out, err := c.CreateProposal(cmd.Context(), vault, in)
			if err != nil {
				var e *client.APIError
				if errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(e.Body.Field, ".auth") && file == "" {
					return fmt.Errorf("%s (with flags: add --credential KEY for each credential the service uses)", e.Error())
				}
				return proposalErr(err, 0)
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "Proposal %d created in vault %s (pending until %s).\n", out.ID, out.Vault, ts(out.ExpiresAt))
				fmt.Fprintf(w, "Approve it in a browser: %s\n", out.ApprovalURL)
				fmt.Fprintf(w, "or with: agent-vault vault proposal approve %d\n", out.ID)
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "JSON file with the body of POST /v1/proposals (- for standard input)")
	f.StringVar(&name, "name", "", "service name (a new service needs one; an existing one may be named by --host)")
	f.StringVar(&host, "host", "", "host pattern: api.example.com, *.example.com, example.com/api/*, host:port")
	f.StringVar(&authType, "auth", "", "bearer, basic, api-key, custom or passthrough")
	f.StringVar(&token, "token", "", "bearer: credential key")
	f.StringVar(&user, "username", "", "basic: credential key of the user name")
	f.StringVar(&pass, "password", "", "basic: credential key of the password")
	f.StringVar(&key, "key", "", "api-key: credential key")
	f.StringVar(&header, "header", "", "api-key: header name (default Authorization)")
	f.StringVar(&prefix, "prefix", "", "api-key: literal prefix before the value")
	f.StringArrayVar(&creds, "credential", nil, "credential slot KEY[=description] the reviewer fills in (repeatable)")
	f.StringArrayVar(&deleteServices, "delete-service", nil, "ask to remove a service, by name or unique host (repeatable)")
	f.StringArrayVar(&delCreds, "delete-credential", nil, "ask to delete a credential KEY (repeatable)")
	f.StringVar(&message, "message", "", "note for the developer (at most 2000 characters)")
	f.StringVar(&userMessage, "user-message", "", "note for the human approving (at most 5000 characters)")
	return cmd
}

// readProposalFile decodes a JSON proposal body ("-" is standard input),
// refusing unknown fields so that a typo is not silently dropped.
func (a *app) readProposalFile(path string) (apitype.CreateProposalRequest, error) {
	var (
		in   apitype.CreateProposalRequest
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(a.in, 4<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return in, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return in, fmt.Errorf("%s is empty: it needs a JSON object with services and/or credentials (see `agent-vault vault proposal create --help`)", path)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("%s is not a proposal: %v (see `agent-vault vault proposal create --help` for the format)", path, err)
	}
	if dec.More() {
		return in, fmt.Errorf("%s holds more than one JSON value: put one proposal object in it", path)
	}
	return in, nil
}

func (a *app) proposalListCmd(setup proposalSetup) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List proposals (of every vault you review unless a vault is chosen)",
		Long: `List proposals, newest first. Without --vault (or AGENT_VAULT_VAULT,
agent-vault.json, ` + "`vault use`" + `) this lists every vault where you may review
them (member role or higher). --status narrows to pending, applied, rejected
or expired; all (the default) lists every status.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			vault := propReviewVault(rv)
			out, err := reviewList(cmd, c, vault, status)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				if len(out.Proposals) == 0 {
					fmt.Fprintln(w, propNone(vault, status))
					return
				}
				rows := [][]string{}
				for _, p := range out.Proposals {
					rows = append(rows, []string{strconv.FormatInt(p.ID, 10), p.Vault, p.Status, propClean(p.CreatedBy), ts(p.CreatedAt), propChanges(p)})
				}
				a.table([]string{"ID", "VAULT", "STATUS", "FROM", "CREATED", "CHANGES"}, rows)
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "pending, applied, rejected, expired or all (default all)")
	return cmd
}

func propNone(vault, status string) string {
	what := "proposals"
	if status != "" {
		what = status + " proposals"
	}
	if vault == "" {
		return "No " + what + " in the vaults you review."
	}
	return "No " + what + " in vault " + vault + "."
}

func (a *app) proposalShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show <id>",
		Short: "Show one proposal in full",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseProposalID(args[0])
			if err != nil {
				return err
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			p, err := reviewGet(cmd, c, id)
			if err != nil {
				return err
			}
			return a.show(p, func(w io.Writer) { writeProposalText(w, p) })
		},
	}
}

func (a *app) proposalApproveCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "approve <id> [KEY[=VALUE]]...",
		Short: "Approve a pending proposal and apply its changes",
		Long: `Approve a pending proposal: every change it asks for is applied at once, or
none. Credential values the proposal needs are taken from KEY=VALUE arguments,
else asked for with a hidden prompt (one line of standard input each when it
is not a terminal, in the proposal's order). A value the agent supplied is
offered for acceptance on a terminal, and accepted otherwise; KEY=VALUE
overrides it. The changes are shown and confirmed first unless --yes.

  agent-vault vault proposal approve 3
  printf '%s\n' "$STRIPE_KEY" | agent-vault vault proposal approve 3 --yes`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseProposalID(args[0])
			if err != nil {
				return err
			}
			given, ask, err := propValueArgs(args[1:])
			if err != nil {
				return err
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			p, err := c.AdminProposal(cmd.Context(), id)
			if err != nil {
				return proposalErr(err, id)
			}
			if p.Status != apitype.ProposalPending {
				return fmt.Errorf("proposal %d is %s, not pending: nothing to approve (see it with `agent-vault vault proposal show %d`)", id, p.Status, id)
			}
			tty := a.stdinIsTTY()
			if !yes && !tty {
				return errNeedYes(fmt.Sprintf("approving proposal %d changes vault %s (see `agent-vault vault proposal show %d`)", id, p.Vault, id))
			}
			for _, k := range ask {
				given[k] = ""
			}
			values, plan, err := a.proposalSlotValues(p, given, ask, tty)
			if err != nil {
				return err
			}
			if !yes {
				fmt.Fprintf(a.errOut, "Approving proposal %d applies to vault %s:\n", id, p.Vault)
				for _, l := range plan {
					fmt.Fprintln(a.errOut, "  "+l)
				}
				writeProposalWarnings(a.errOut, p.Diff)
				fmt.Fprint(a.errOut, "Apply these changes? [y/N]: ")
				ans, err := a.line()
				if err != nil {
					return err
				}
				if !propYes(ans, false) {
					return errors.New("not approved: nothing was changed")
				}
			}
			out, err := c.ApproveShownProposal(cmd.Context(), id, values, propFingerprint(p))
			if err != nil {
				return proposalErr(err, id)
			}
			return a.show(out, func(w io.Writer) {
				writeProposalDecided(w, out)
				writeOAuthToConnect(w, p)
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "apply without showing the changes and asking first")
	return cmd
}

// propValueArgs splits KEY=VALUE arguments from bare KEYs (to prompt for).
func propValueArgs(args []string) (map[string]string, []string, error) {
	given := map[string]string{}
	var ask []string
	for _, arg := range args {
		k, v, has := strings.Cut(arg, "=")
		if _, dup := given[k]; dup || propHas(ask, k) {
			return nil, nil, fmt.Errorf("%s is given twice", k)
		}
		if !has {
			ask = append(ask, k)
			continue
		}
		if v == "" {
			return nil, nil, fmt.Errorf("%s= has an empty value: give KEY=VALUE, or a bare KEY to be asked for it", k)
		}
		given[k] = v
	}
	return given, ask, nil
}

func propHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// propFillable is whether a slot takes a value from the reviewer.
func propFillable(c apitype.ProposalCredential) bool {
	return c.Action == apitype.ProposalSet && c.Type != "oauth"
}

// proposalSlotValues gathers the values to send for p's static slots: those in
// given (keys in ask are prompted for), then for each other slot the agent's
// value (accepted, or on a terminal confirmed or overridden) or a hidden
// prompt. It returns the values and, in words, what approval will do.
func (a *app) proposalSlotValues(p apitype.Proposal, given map[string]string, ask []string, tty bool) (map[string]string, []string, error) {
	slots := []string{}
	for _, c := range p.Credentials {
		if propFillable(c) {
			slots = append(slots, c.Key)
		}
	}
	for k := range given {
		if !propHas(slots, k) {
			if len(slots) == 0 {
				return nil, nil, fmt.Errorf("proposal %d has no credential slot to fill, so %s cannot be given", p.ID, k)
			}
			return nil, nil, fmt.Errorf("proposal %d has no credential slot %s to fill (its slots: %s)", p.ID, k, strings.Join(slots, ", "))
		}
	}
	values := map[string]string{}
	var plan []string
	for _, c := range p.Credentials {
		switch {
		case c.Action == apitype.ProposalDelete:
			plan = append(plan, "delete credential "+c.Key)
			continue
		case c.Type == "oauth":
			plan = append(plan, "add OAuth credential "+c.Key+" (connect it after approval)")
			continue
		}
		v, fromArgs := given[c.Key]
		switch {
		case fromArgs && !propHas(ask, c.Key):
			values[c.Key] = v
			plan = append(plan, "set credential "+c.Key+" to the value you gave")
			continue
		case c.HasValue && !propHas(ask, c.Key):
			keep := true
			if tty {
				fmt.Fprintf(a.errOut, "Credential %s: the agent supplied a value. Accept the agent's value? [Y/n]: ", c.Key)
				ans, err := a.line()
				if err != nil {
					return nil, nil, err
				}
				keep = propYes(ans, true)
			}
			if keep {
				plan = append(plan, "set credential "+c.Key+" to the value the agent supplied")
				continue
			}
		}
		prompt := "Value for " + c.Key
		if c.Description != "" {
			prompt += " (" + propClean(propOneLine(c.Description)) + ")"
		}
		if tty && c.Obtain != "" {
			fmt.Fprintf(a.errOut, "%s: get it at %s\n", c.Key, propClean(propOneLine(c.Obtain)))
		}
		s, err := a.readSecret(prompt, false)
		if err != nil {
			return nil, nil, fmt.Errorf("credential %s needs a value (%v): give it as %s=VALUE, on standard input, or run on a terminal to be asked", c.Key, err, c.Key)
		}
		if s == "" {
			return nil, nil, fmt.Errorf("the value for %s is empty: nothing was approved", c.Key)
		}
		values[c.Key] = s
		if c.HasValue {
			plan = append(plan, "set credential "+c.Key+" to the value you typed (instead of the agent's)")
		} else {
			plan = append(plan, "set credential "+c.Key+" to the value you typed")
		}
	}
	for _, s := range p.Services {
		if s.Action == apitype.ProposalDelete {
			plan = append(plan, "remove service "+propServiceRef(s))
			continue
		}
		plan = append(plan, "set service "+propServiceRef(s)+" ("+propAuthDesc(s.Auth)+")")
	}
	return values, plan, nil
}

// propYes reads a y/n answer; empty means def.
func propYes(ans string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(ans)) {
	case "":
		return def
	case "y", "yes":
		return true
	}
	return false
}

func (a *app) proposalRejectCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "reject <id> --reason TEXT",
		Short: "Reject a pending proposal; the agent sees the reason",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseProposalID(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return errors.New("say why with --reason TEXT: the agent reads it to decide what to do next")
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.RejectProposal(cmd.Context(), id, reason)
			if err != nil {
				return proposalErr(err, id)
			}
			return a.show(out, func(w io.Writer) { writeProposalDecided(w, out) })
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (shown to the agent; at most 2000 characters)")
	return cmd
}

// propReviewSummary is what `review` did, printed at the end (--json: as JSON).
type propReviewSummary struct {
	Approved  []int64            `json:"approved"`
	Rejected  []int64            `json:"rejected"`
	Skipped   []int64            `json:"skipped"`
	Failed    []propReviewFailed `json:"failed"`
	Remaining []int64            `json:"remaining"`
}

type propReviewFailed struct {
	ID    int64  `json:"id"`
	Error string `json:"error"`
}

func (a *app) proposalReviewCmd(setup proposalSetup) *cobra.Command {
	return &cobra.Command{
		Use:   "review",
		Short: "Walk through pending proposals: approve, reject, skip or quit for each",
		Long: `Show each pending proposal (oldest first, of every vault you review unless a
vault is chosen) and ask what to do: a(pprove), r(eject), s(kip) or q(uit).
Approving asks for the credential values the proposal needs (hidden), and on
a terminal whether to accept values the agent supplied; rejecting asks for a
reason. A summary follows. When standard input is not a terminal, answers,
values and reasons are read from it one line each, in that order.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			vault := propReviewVault(rv)
			l, err := reviewList(cmd, c, vault, apitype.ProposalPending)
			if err != nil {
				return err
			}
			ps := l.Proposals
			sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
			w := a.out
			if a.json {
				w = a.errOut // keep standard output for the JSON summary
			}
			sum := propReviewSummary{Approved: []int64{}, Rejected: []int64{}, Skipped: []int64{}, Failed: []propReviewFailed{}, Remaining: []int64{}}
			if len(ps) == 0 {
				return a.show(sum, func(w io.Writer) { fmt.Fprintln(w, propNone(vault, apitype.ProposalPending)) })
			}
			tty := a.stdinIsTTY()
			quit := false
			for i, p := range ps {
				if quit {
					sum.Remaining = append(sum.Remaining, p.ID)
					continue
				}
				fmt.Fprintf(w, "\n(%d of %d) ", i+1, len(ps))
				writeProposalText(w, p)
				act, err := a.proposalReviewAnswer()
				if err != nil {
					return err
				}
				switch act {
				case "quit":
					quit = true
					sum.Remaining = append(sum.Remaining, p.ID)
				case "skip":
					sum.Skipped = append(sum.Skipped, p.ID)
					fmt.Fprintf(w, "Skipped proposal %d.\n", p.ID)
				case "approve":
					values, _, err := a.proposalSlotValues(p, map[string]string{}, nil, tty)
					if err != nil {
						return fmt.Errorf("%v; stopped the review (approved %v, rejected %v so far)", err, sum.Approved, sum.Rejected)
					}
					out, err := c.ApproveShownProposal(cmd.Context(), p.ID, values, propFingerprint(p))
					if err != nil {
						err = proposalErr(err, p.ID)
						sum.Failed = append(sum.Failed, propReviewFailed{ID: p.ID, Error: err.Error()})
						fmt.Fprintf(w, "Could not approve proposal %d: %v\n", p.ID, err)
						continue
					}
					sum.Approved = append(sum.Approved, p.ID)
					writeProposalDecided(w, out)
				case "reject":
					if tty {
						fmt.Fprint(a.errOut, "Reason (shown to the agent): ")
					}
					reason, err := a.line()
					if err != nil {
						return fmt.Errorf("rejecting proposal %d needs a reason: %v", p.ID, err)
					}
					out, err := c.RejectProposal(cmd.Context(), p.ID, reason)
					if err != nil {
						err = proposalErr(err, p.ID)
						sum.Failed = append(sum.Failed, propReviewFailed{ID: p.ID, Error: err.Error()})
						fmt.Fprintf(w, "Could not reject proposal %d: %v\n", p.ID, err)
						continue
					}
					sum.Rejected = append(sum.Rejected, p.ID)
					writeProposalDecided(w, out)
				}
			}
			return a.show(sum, func(w io.Writer) {
				fmt.Fprintf(w, "\nReview done: %d approved%s, %d rejected%s, %d skipped%s",
					len(sum.Approved), propIDList(sum.Approved), len(sum.Rejected), propIDList(sum.Rejected), len(sum.Skipped), propIDList(sum.Skipped))
				if len(sum.Failed) > 0 {
					ids := make([]int64, len(sum.Failed))
					for i, f := range sum.Failed {
						ids[i] = f.ID
					}
					fmt.Fprintf(w, ", %d failed%s", len(ids), propIDList(ids))
				}
				if len(sum.Remaining) > 0 {
					fmt.Fprintf(w, ", %d not reviewed%s", len(sum.Remaining), propIDList(sum.Remaining))
				}
				fmt.Fprintln(w, ".")
				if len(sum.Skipped)+len(sum.Remaining)+len(sum.Failed) > 0 {
					fmt.Fprintln(w, "Run `agent-vault vault proposal review` again for the ones still pending.")
				}
			})
		},
	}
}

// proposalReviewAnswer asks what to do with one proposal until it gets an answer;
// the end of input means quit.
func (a *app) proposalReviewAnswer() (string, error) {
	for tries := 0; tries < 5; tries++ {
		fmt.Fprint(a.errOut, "Approve, reject, skip or quit? [a/r/s/q]: ")
		ans, err := a.line()
		if err != nil {
			fmt.Fprintln(a.errOut)
			return "quit", nil
		}
		switch strings.ToLower(strings.TrimSpace(ans)) {
		case "a", "approve", "y", "yes", "allow":
			return "approve", nil
		case "r", "reject", "n", "no", "deny":
			return "reject", nil
		case "s", "skip":
			return "skip", nil
		case "q", "quit", "exit":
			return "quit", nil
		}
		fmt.Fprintf(a.errOut, "%q is not an answer: type a to approve, r to reject, s to skip or q to quit.\n", propClean(ans))
	}
	return "", errors.New("no valid answer after 5 tries: stopped the review (answer a, r, s or q)")
}

func propIDList(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = "#" + strconv.FormatInt(id, 10)
	}
	return " (" + strings.Join(s, ", ") + ")"
}

// writeProposalDecided prints the answer of approve or reject.
func writeProposalDecided(w io.Writer, out apitype.ProposalDecided) {
	if out.Status == apitype.ProposalRejected {
		fmt.Fprintf(w, "Proposal %d rejected (vault %s).\n", out.ID, out.Vault)
		return
	}
	fmt.Fprintf(w, "Proposal %d approved; vault %s changed:\n", out.ID, out.Vault)
	for _, l := range out.Applied {
		fmt.Fprintln(w, "  "+l)
	}
}

// propChanges is a proposal's changes on one line.
func propChanges(p apitype.Proposal) string {
	var parts []string
	for _, s := range p.Services {
		verb := "set"
		if s.Action == apitype.ProposalDelete {
			verb = "remove"
		}
		parts = append(parts, verb+" service "+propServiceRef(s))
	}
	for _, c := range p.Credentials {
		verb := "set"
		if c.Action == apitype.ProposalDelete {
			verb = "delete"
		}
		parts = append(parts, verb+" "+c.Key)
	}
	out := strings.Join(parts, ", ")
	if p.Diff != nil {
		if n := len(p.Diff.Warnings); n == 1 {
			out += " — !! 1 warning (see show)"
		} else if n > 1 {
			out += " — !! " + strconv.Itoa(n) + " warnings (see show)"
		}
	}
	return propClean(out)
}

func propServiceRef(s apitype.ProposalService) string {
	switch {
	case s.Name != "" && s.Host != "":
		return propClean(s.Name) + " (" + propClean(s.Host) + ")"
	case s.Name != "":
		return propClean(s.Name)
	}
	return propClean(s.Host)
}

// propAuthDesc describes a service's auth by the key names it uses.
func propAuthDesc(au *apitype.ServiceAuth) string {
	if au == nil {
		return "no auth"
	}
	var f []string
	add := func(k, v string) {
		if v != "" {
			f = append(f, k+" "+v)
		}
	}
	add("token", au.Token)
	add("username", au.Username)
	add("password", au.Password)
	add("key", au.Key)
	add("header", au.Header)
	if au.Prefix != "" {
		f = append(f, "prefix "+strconv.Quote(au.Prefix))
	}
	hs := make([]string, 0, len(au.Headers))
	for h := range au.Headers {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	for _, h := range hs {
		f = append(f, h+": "+au.Headers[h])
	}
	if len(f) == 0 {
		return propClean(au.Type)
	}
	return propClean(au.Type + ": " + strings.Join(f, ", "))
}

// writeProposalText prints a proposal for a human. Every text an agent wrote
// is stripped of control characters first.
func writeProposalText(w io.Writer, p apitype.Proposal) {
	fmt.Fprintf(w, "Proposal %d — %s — vault %s\n", p.ID, p.Status, p.Vault)
	by := propClean(p.CreatedBy)
	if p.CreatedByType != "" {
		by += " (" + p.CreatedByType + ")"
	}
	fmt.Fprintf(w, "  from:      %s\n", by)
	fmt.Fprintf(w, "  created:   %s\n", ts(p.CreatedAt))
	if p.Status == apitype.ProposalPending {
		fmt.Fprintf(w, "  expires:   %s\n", ts(p.ExpiresAt))
	}
	if p.UserMessage != "" {
		fmt.Fprintf(w, "  message for you:\n%s\n", propIndent(propClean(p.UserMessage), "    "))
	}
	if p.Message != "" {
		fmt.Fprintf(w, "  message for the developer:\n%s\n", propIndent(propClean(p.Message), "    "))
	}
	writeProposalWarnings(w, p.Diff)
	if len(p.Services) > 0 {
		fmt.Fprintln(w, "  services:")
		for i, s := range p.Services {
			var sc *apitype.ServiceChange
			if p.Diff != nil && i < len(p.Diff.Services) {
				sc = &p.Diff.Services[i]
			}
			if sc != nil {
				writeServiceChange(w, s, *sc)
				continue
			}
			if s.Action == apitype.ProposalDelete {
				fmt.Fprintf(w, "    remove %s\n", propServiceRef(s))
				continue
			}
			fmt.Fprintf(w, "    set    %s, auth %s", propServiceRef(s), propAuthDesc(s.Auth))
			if s.Enabled != nil && !*s.Enabled {
				fmt.Fprint(w, ", disabled")
			}
			fmt.Fprintln(w)
			for _, sub := range s.Substitutions {
				in := sub.In
				if len(in) == 0 {
					in = []string{"path", "query"}
				}
				fmt.Fprintf(w, "           substitutes %s with %s in %s\n", propClean(sub.Placeholder), propClean(sub.Key), propClean(strings.Join(in, ", ")))
			}
		}
	}
	if len(p.Credentials) > 0 {
		fmt.Fprintln(w, "  credentials:")
		for i, c := range p.Credentials {
			if c.Action == apitype.ProposalDelete {
				fmt.Fprintf(w, "    delete %s\n", propClean(c.Key))
				writeKeyWarnings(w, p.Diff, c.Key)
				continue
			}
			typ := c.Type
			if typ == "" {
				typ = "static"
			}
			line := "    set    " + propClean(c.Key) + " (" + propClean(typ) + ")"
			if p.Diff != nil && i < len(p.Diff.Credentials) && p.Diff.Credentials[i].Change == apitype.ChangeAdd {
				line += ", new credential"
			}
			if c.Description != "" {
				line += " — " + propClean(propOneLine(c.Description))
			}
			fmt.Fprintln(w, line)
			writeKeyWarnings(w, p.Diff, c.Key)
			if c.Obtain != "" {
				fmt.Fprintf(w, "           get it at: %s\n", propClean(propOneLine(c.Obtain)))
			}
			if c.ObtainInstructions != "" {
				fmt.Fprintf(w, "           how: %s\n", propClean(propOneLine(c.ObtainInstructions)))
			}
			if c.OAuth != nil {
				fmt.Fprintf(w, "           oauth token URL: %s", propClean(c.OAuth.TokenURL))
				if len(c.OAuth.Scopes) > 0 {
					fmt.Fprintf(w, ", scopes: %s", propClean(strings.Join(c.OAuth.Scopes, " ")))
				}
				if c.OAuth.TokenAuthMethod != "" {
					fmt.Fprintf(w, ", token auth: %s", propClean(c.OAuth.TokenAuthMethod))
				}
				if c.OAuth.DisablePKCE {
					fmt.Fprint(w, ", PKCE off")
				}
				fmt.Fprintln(w)
			}
			if c.HasValue {
				fmt.Fprintln(w, "           the agent supplied a value (accept it or give your own)")
			}
		}
	}
	if p.DecidedAt != nil {
		fmt.Fprintf(w, "  decided:   %s by %s\n", ts(*p.DecidedAt), propClean(p.DecidedBy))
	}
	if p.RejectionReason != "" {
		fmt.Fprintf(w, "  reason:    %s\n", propClean(propOneLine(p.RejectionReason)))
	}
}

// propClean replaces control characters (terminal escapes included) other than
// newline and tab, so that text from an agent cannot drive the terminal.
func propClean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unsafeRune(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func propOneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func propIndent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

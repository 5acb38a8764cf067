package broker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
)

// Mailer sends plain-text notification email (internal/mail implements
// it). SPEC §8: vault members are emailed a proposal's approval link;
// invitees get their invite.
type Mailer interface {
	Send(ctx context.Context, to []string, subject, text string) error
}

// mailTimeout bounds one notification; it runs after the request returned.
const mailTimeout = time.Minute

// notify sends a message in the background: the request that caused it
// has already succeeded, and a slow or failing mail server must not
// change that. Failures are logged without the message (it holds links
// with tokens).
func (b *Broker) notify(purpose string, to func(ctx context.Context) []string, subject, text string) {
	if b.mailer == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), mailTimeout)
		defer cancel()
		rcpt := to(ctx)
		if len(rcpt) == 0 {
			return
		}
		if err := b.mailer.Send(ctx, rcpt, subject, text); err != nil {
			b.log.Warn("sending email failed", "purpose", purpose, "recipients", len(rcpt), "err", err)
			return
		}
		b.log.Info("email sent", "purpose", purpose, "recipients", len(rcpt))
	}()
}

// notifyInvite emails an invitee their invite.
func (b *Broker) notifyInvite(inviter string, out apitype.InviteCreated) {
	text := fmt.Sprintf("%s invited you to Agent Vault at %s (instance role: %s).\n\n"+
		"To accept, install the agent-vault command and run:\n\n    agent-vault auth accept-invite %s\n\n"+
		"The invite expires on %s. If you did not expect it, ignore this message.\n",
		inviter, b.baseURL, out.Role, out.InviteLink, out.ExpiresAt.UTC().Format(time.RFC1123))
	b.notify("invite", func(context.Context) []string { return []string{out.Email} }, "Your invitation to Agent Vault", text)
}

// notifyProposal emails a vault's members and admins (those who may
// decide) the approval link of a new proposal, except its creator.
func (b *Broker) notifyProposal(a Actor, vault model.Vault, in apitype.CreateProposalRequest, out apitype.ProposalCreated) {
	var what []string
	for _, s := range in.Services {
		name := s.Name
		if name == "" {
			name = s.Host
		}
		what = append(what, "  - "+s.Action+" service "+name)
	}
	for _, c := range in.Credentials {
		what = append(what, "  - "+c.Action+" credential "+c.Key)
	}
	text := fmt.Sprintf("%s asks for changes to vault %q:\n\n%s\n\n", a.Name(), vault.Name, strings.Join(what, "\n"))
	if in.UserMessage != "" {
		// The requester may be a prompt-injected agent: say whose words these
		// are, and that the only link to act on is the one below.
		text += "Their note to you (written by the requester, not by Agent Vault; do not follow links in it):\n\n" +
			in.UserMessage + "\n\n"
	}
	text += fmt.Sprintf("Review it, then approve or deny:\n\n    %s\n\nThe link works until %s; the request expires on %s.\n",
		out.ApprovalURL, b.now().Add(model.ApprovalTokenTTL).UTC().Format(time.RFC1123), out.ExpiresAt.UTC().Format(time.RFC1123))
	creator := ""
	if a.Kind == model.ActorUser && a.Scope == nil {
		creator = a.User.Email
	}
	b.notify("proposal", func(ctx context.Context) []string {
		grants, err := b.st.Grants().ListByVault(ctx, vault.ID)
		if err != nil {
			b.log.Warn("listing a vault's members to email them", "err", err)
			return nil
		}
		var to []string
		for _, g := range grants {
			if g.Role.Satisfies(model.VaultMember) && g.Email != creator {
				to = append(to, g.Email)
			}
		}
		return to
	}, fmt.Sprintf("Approval requested in vault %s (proposal #%d)", vault.Name, out.ID), text)
}

// TestEmail sends a test message (owners only), to to or to the caller.
func (b *Broker) TestEmail(ctx context.Context, a Actor, in apitype.EmailTestRequest) (apitype.EmailTestResult, error) {
	if err := authorize(a, "", policy.ChangeInstanceSetting); err != nil {
		return apitype.EmailTestResult{}, err
	}
	to := a.User.Email
	if in.To != "" {
		e, err := model.NormalizeEmail("to", in.To)
		if err != nil {
			return apitype.EmailTestResult{}, err
		}
		to = e
	}
	if b.mailer == nil {
		return apitype.EmailTestResult{}, errs.Conflict("email is not configured on this server: set AGENT_VAULT_SMTP_HOST and AGENT_VAULT_SMTP_FROM (see docs/operations.md) and restart it").WithCode("smtp_not_configured")
	}
	text := fmt.Sprintf("This is a test message from Agent Vault at %s, sent by %s.\n\nIf you can read it, invites and approval requests will reach their recipients.\n", b.baseURL, a.User.Email)
	if err := b.mailer.Send(ctx, []string{to}, "Agent Vault test message", text); err != nil {
		return apitype.EmailTestResult{}, &errs.Error{Kind: errs.KindUnavailable, Code: "smtp_failed", Message: "the mail server refused or failed: " + err.Error()}
	}
	return apitype.EmailTestResult{Sent: true, To: to}, nil
}

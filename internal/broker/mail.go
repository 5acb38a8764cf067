package broker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Mailer sends plain-text notification email (internal/mail implements
// it): vault members are emailed a proposal's approval link, invitees
// their invite (docs/operations.md, "Email").
type Mailer interface {
	Send(ctx context.Context, to []string, subject, text string) error
}

const (
	// mailTimeout bounds one notification; it runs after the request
	// returned.
	mailTimeout = time.Minute
	// proposalMailEvery is how often one requester's proposals in one
	// vault are emailed: an agent that keeps proposing (each rejection
	// frees a pending slot) must not flood the reviewers' inboxes. Later
	// proposals are still listed on /proposals.
	proposalMailEvery = 10 * time.Minute
	// noteMailChars is how much of a requester's note an email quotes; the
	// approval page shows all of it.
	noteMailChars = 500
)

// mailState is the broker's outgoing mail: in-flight sends (waited for at
// shutdown) and when each requester's proposals were last emailed.
type mailState struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	lastSent map[string]time.Time // vault id + "\x00" + requester
}

// notify sends a message to each recipient on its own, in the background:
// the request that caused it has already succeeded, a slow or failing mail
// server must not change that, one refused address must not cost the
// others their copy, and no recipient sees the others' addresses.
// Failures are logged without the message (it holds links with tokens).
func (b *Broker) notify(purpose string, to func(ctx context.Context) []string, subject, text string) {
	if b.mailer == nil {
		return
	}
	b.background(func(ctx context.Context) {
		sent, failed := 0, 0
		for _, rcpt := range to(ctx) {
			if err := b.mailer.Send(ctx, []string{rcpt}, subject, text); err != nil {
				failed++
				b.log.Warn("sending email failed", "purpose", purpose, "err", err)
				continue
			}
			sent++
		}
		if sent+failed > 0 {
			b.log.Info("email sent", "purpose", purpose, "recipients", sent, "failed", failed)
		}
	})
}

// background runs mail work after the request that caused it has been
// answered, within mailTimeout; WaitForMail waits for it at shutdown.
func (b *Broker) background(fn func(ctx context.Context)) {
	b.mail.wg.Add(1)
	go func() {
		defer b.mail.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), mailTimeout)
		defer cancel()
		fn(ctx)
	}()
}

// WaitForMail waits until the emails being sent are done or ctx ends, and
// reports whether they were; the daemon calls it before closing the
// database.
func (b *Broker) WaitForMail(ctx context.Context) bool {
	done := make(chan struct{})
	go func() { b.mail.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// notifyInvite emails an invitee their invite.
func (b *Broker) notifyInvite(inviter string, out apitype.InviteCreated) {
	text := fmt.Sprintf("%s invited you to Agent Vault at %s (instance role: %s).\n\n"+
		"To accept, open this link and choose your password:\n\n    %s\n\n"+
		"or, with the agent-vault command installed, run:\n\n    agent-vault auth accept-invite %s\n\n"+
		"The invite expires on %s. If you did not expect it, ignore this message.\n",
		inviter, b.baseURL, out.Role, out.InviteLink, out.InviteLink, out.ExpiresAt.UTC().Format(time.RFC1123))
	b.notify("invite", func(context.Context) []string { return []string{out.Email} }, "Your invitation to Agent Vault", text)
}

// notifyProposal emails a vault's members and admins (those who may
// decide) the approval link of a new proposal, except its creator, at
// most once per proposalMailEvery for one requester in one vault.
func (b *Broker) notifyProposal(a Actor, vault model.Vault, in apitype.CreateProposalRequest, out apitype.ProposalCreated, diff *apitype.ProposalDiff) {
	if b.mailer == nil || !b.proposalMailDue(vault.ID, a.Name()) {
		return
	}
	b.notify("proposal", func(ctx context.Context) []string {
		grants, err := b.st.Grants().ListByVault(ctx, vault.ID)
		if err != nil {
			b.log.Warn("listing a vault's members to email them", "err", err)
			return nil
		}
		creator := ""
		if a.Kind == model.ActorUser && a.Scope == nil {
			creator = a.User.Email
		}
		var to []string
		for _, g := range grants {
			if g.Role.Satisfies(model.VaultMember) && g.Email != creator {
				to = append(to, g.Email)
			}
		}
		return to
	}, fmt.Sprintf("Approval requested in vault %s (proposal #%d)", vault.Name, out.ID), b.proposalMailText(a, vault, in, out, diff))
}

// proposalMailDue records a proposal email for (vault, requester) and
// reports whether one may go out now.
func (b *Broker) proposalMailDue(vaultID, requester string) bool {
	b.mail.mu.Lock()
	defer b.mail.mu.Unlock()
	if b.mail.lastSent == nil {
		b.mail.lastSent = map[string]time.Time{}
	}
	now, key := b.now(), vaultID+"\x00"+requester
	if last, ok := b.mail.lastSent[key]; ok && now.Sub(last) < proposalMailEvery {
		b.log.Info("proposal not emailed: its requester's last one in this vault was emailed less than 10 minutes ago")
		return false
	}
	for k, t := range b.mail.lastSent { // keep the map small
		if now.Sub(t) >= proposalMailEvery {
			delete(b.mail.lastSent, k)
		}
	}
	b.mail.lastSent[key] = now
	return true
}

// proposalMailText puts what Agent Vault vouches for first (the link, who
// asks, what changes) and the requester's note last, quoted, shortened and
// marked: the requester may be a prompt-injected agent writing its own
// "approve here" text.
func (b *Broker) proposalMailText(a Actor, vault model.Vault, in apitype.CreateProposalRequest, out apitype.ProposalCreated, diff *apitype.ProposalDiff) string {
	var t strings.Builder
	fmt.Fprintf(&t, "Review this request on Agent Vault (%s), then approve or deny it:\n\n    %s\n\n", b.baseURL, out.ApprovalURL)
	fmt.Fprintf(&t, "The link shows the request until %s; it expires on %s.\n\n",
		b.now().Add(model.ApprovalTokenTTL).UTC().Format(time.RFC1123), out.ExpiresAt.UTC().Format(time.RFC1123))
	fmt.Fprintf(&t, "Requested by %s in vault %q:\n\n", a.Name(), vault.Name)
	for _, s := range in.Services {
		name := s.Name
		if name == "" {
			name = s.Host
		}
		fmt.Fprintf(&t, "  - %s service %s\n", s.Action, name)
	}
	for _, c := range in.Credentials {
		fmt.Fprintf(&t, "  - %s credential %s\n", c.Action, c.Key)
	}
	if diff != nil && len(diff.Warnings) > 0 {
		t.WriteString("\nCheck before approving (the link shows every change before and after):\n\n")
		for _, w := range diff.Warnings {
			fmt.Fprintf(&t, "  !! %s\n", w.Message)
		}
	}
	if note := mailNote(in.UserMessage); note != "" {
		t.WriteString("\nThe requester's note, in its own words (not Agent Vault's; use only the link above):\n\n")
		t.WriteString(note)
		t.WriteString("\n-- end of the requester's note --\n")
	}
	return t.String()
}

// mailNote quotes a requester's note for an email: control and
// bidirectional-formatting characters dropped, at most noteMailChars
// characters, every line prefixed with "> ".
func mailNote(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == noteMailChars {
			b.WriteString(" […] (the approval page shows the whole note)")
			break
		}
		if r != '\n' && model.HiddenRune(r) {
			continue
		}
		b.WriteRune(r)
		n++
	}
	note := strings.TrimSpace(b.String())
	if note == "" {
		return ""
	}
	return "> " + strings.ReplaceAll(note, "\n", "\n> ") + "\n"
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
		failed := &errs.Error{Kind: errs.KindUnavailable, Code: "smtp_failed", Message: "the mail server refused or failed: " + err.Error()}
		b.recordFailure(ctx, a.event(trail.EmailTest, model.Vault{}, to), failed)
		return apitype.EmailTestResult{}, failed
	}
	return apitype.EmailTestResult{Sent: true, To: to}, b.record(ctx, b.st, a.event(trail.EmailTest, model.Vault{}, to))
}

package web

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// proposalView is a proposal as the page shows it: plain strings only, so
// that the template escapes every one of them.
type proposalView struct {
	ID              int64
	Status          string
	Pending         bool
	Vault           string
	CreatedBy       string
	CreatedByType   string
	CreatedAt       string
	ExpiresAt       string
	DecidedAt       string
	DecidedBy       string
	RejectionReason string
	Message         string
	UserMessage     string
	Services        []serviceView
	Credentials     []credView
	NeedsInput      bool   // some slot takes a value from the reviewer
	HasDiff         bool   // compared with the vault as it is now (pending only)
	Fingerprint     string // of the diff shown, posted back with Allow
	Warnings        []warnView
	Conflicts       []string // what would make approval fail now
}

type serviceView struct {
	Action   string // set or delete
	Name     string
	Host     string
	AuthType string
	Disabled bool
	Keys     []string
	Subs     []subView
	Change   string // from the diff: add, update, unchanged or remove
	Fields   []fieldView
	Warnings []string
}

type subView struct {
	Key, Placeholder, In string
}

type credView struct {
	Action             string // set or delete
	Key                string
	Type               string // static or oauth
	Description        string
	ObtainURL          string // set only for an http(s) URL: shown as a link
	ObtainText         string // anything else: shown as text
	ObtainInstructions string
	HasValue           bool // the agent supplied a value
	Input              bool // the reviewer may type a value
	Required           bool // … and must
	OAuth              *apitype.OAuthConfig
	Change             string // from the diff: add, replace or delete
	Warnings           []string
}

// timeFmt is how pages show times (always UTC).
const timeFmt = "2006-01-02 15:04 UTC"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFmt)
}

// linkURL returns s when it is an absolute http(s) URL with a host, the
// only kind of "obtain" hint shown as a link.
func linkURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	if strings.ContainsAny(s, " \t\r\n\"'<>`") {
		return ""
	}
	return u.String()
}

// leadsTo reports whether the link l (from linkURL) goes to host.
func leadsTo(l, host string) bool {
	u, err := url.Parse(l)
	return err == nil && strings.EqualFold(u.Host, host)
}

// agentText makes a text the requester wrote (a proposal's messages, a
// slot's description and hints) fit to show on the page, where
// html/template escapes it: the bidirectional-formatting characters
// (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), which could
// make the text read in another order than it is, and other control
// characters are dropped; every line break becomes \n; lines holding only
// spaces count as empty, and no more than one empty line is kept in a row,
// none at either end, so that newlines cannot push the rest of the page
// out of sight (the messages are also shown in a box of bounded height,
// after the changes and the warnings: docs/proposals.md, "What the agent
// wrote"). The CLI shows the same characters as visible escapes in the
// terminal instead, and the proposal email drops them.
func agentText(s string) string {
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\v", "\n", "\f", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(s)
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if model.HiddenRune(r) {
			return -1
		}
		return r
	}, s)
	var b strings.Builder
	blank := false // empty lines were held back: one is written before the next line
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			blank = true
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
			if blank {
				b.WriteString("\n")
			}
		}
		blank = false
		b.WriteString(strings.TrimRightFunc(line, unicode.IsSpace))
	}
	return b.String()
}

// maxSlotLines is how many lines a credential slot's text keeps on the
// page; the rest is joined onto the last line.
const maxSlotLines = 8

// fewLines keeps the first maxSlotLines-1 lines of s and joins the rest
// into one: a slot's description and hints come before the agent's
// messages and the later slots' warnings, and unlike the messages they
// are not in a box of bounded height.
func fewLines(s string) string {
	lines := strings.SplitN(s, "\n", maxSlotLines)
	if len(lines) == maxSlotLines {
		lines[maxSlotLines-1] = strings.ReplaceAll(lines[maxSlotLines-1], "\n", " ")
	}
	return strings.Join(lines, "\n")
}

// newProposalView is p as the page shows it; site is the host the page is
// served under. A "where to get it" link that leads to site is shown as
// text: an agent writes it, and a link into the console could open one
// of its forms filled in as the agent chose
// (TestAgentLinksIntoTheConsoleAreText).
func newProposalView(p apitype.Proposal, site string) *proposalView {
	v := &proposalView{
		ID: p.ID, Status: p.Status, Pending: p.Status == apitype.ProposalPending, Vault: p.Vault,
		CreatedBy: p.CreatedBy, CreatedByType: p.CreatedByType,
		CreatedAt: fmtTime(p.CreatedAt), ExpiresAt: fmtTime(p.ExpiresAt),
		DecidedBy: p.DecidedBy, RejectionReason: p.RejectionReason,
		Message: agentText(p.Message), UserMessage: agentText(p.UserMessage),
	}
	if p.DecidedAt != nil {
		v.DecidedAt = fmtTime(*p.DecidedAt)
	}
	for _, s := range p.Services {
		v.Services = append(v.Services, newServiceView(s))
	}
	for _, c := range p.Credentials {
		cv := credView{
			Action: c.Action, Key: c.Key, Type: c.Type, Description: fewLines(agentText(c.Description)),
			ObtainInstructions: fewLines(agentText(c.ObtainInstructions)), HasValue: c.HasValue, OAuth: c.OAuth,
		}
		if cv.Type == "" {
			cv.Type = "static"
		}
		if l := linkURL(c.Obtain); l != "" && !leadsTo(l, site) {
			cv.ObtainURL = l
		} else {
			cv.ObtainText = fewLines(agentText(c.Obtain))
		}
		cv.Input = c.Action == apitype.ProposalSet && cv.Type != "oauth"
		cv.Required = cv.Input && !c.HasValue
		v.NeedsInput = v.NeedsInput || cv.Input
		v.Credentials = append(v.Credentials, cv)
	}
	if p.Diff != nil {
		addDiff(v, p.Diff)
	}
	return v
}

// newServiceView describes a service change, with the defaults and the
// referenced keys the broker will apply.
func newServiceView(s apitype.ProposalService) serviceView {
	sv := serviceView{Action: s.Action, Name: s.Name, Host: s.Host, Disabled: s.Enabled != nil && !*s.Enabled}
	if s.Auth == nil {
		return sv
	}
	sv.AuthType = s.Auth.Type
	if svc, err := service.FromAPI(apitype.Service{Name: s.Name, Host: s.Host, Enabled: s.Enabled, Auth: *s.Auth, Substitutions: s.Substitutions}, ""); err == nil {
		sv.Keys = svc.ReferencedKeys()
		for _, sub := range svc.Substitutions {
			a := sub.ToAPI()
			sv.Subs = append(sv.Subs, subView{Key: a.Key, Placeholder: a.Placeholder, In: strings.Join(a.In, ", ")})
		}
		return sv
	}
	// Stored proposals were validated; this is only a fallback.
	seen := map[string]bool{}
	for _, k := range []string{s.Auth.Token, s.Auth.Username, s.Auth.Password, s.Auth.Key} {
		if k != "" {
			seen[k] = true
		}
	}
	for _, sub := range s.Substitutions {
		seen[sub.Key] = true
		sv.Subs = append(sv.Subs, subView{Key: sub.Key, Placeholder: sub.Placeholder, In: strings.Join(sub.In, ", ")})
	}
	for k := range seen {
		sv.Keys = append(sv.Keys, k)
	}
	sort.Strings(sv.Keys)
	return sv
}

// listItem is one row of the proposals list.
type listItem struct {
	ID        int64
	Status    string
	Vault     string
	CreatedBy string
	CreatedAt string
	ExpiresAt string
	Summary   string
	Changes   []string // one line per change, from the diff
	Warnings  []warnView
}

func newListItem(p apitype.Proposal) listItem {
	it := listItem{ID: p.ID, Status: p.Status, Vault: p.Vault, CreatedBy: p.CreatedBy,
		CreatedAt: fmtTime(p.CreatedAt), ExpiresAt: fmtTime(p.ExpiresAt)}
	if p.Diff != nil {
		it.Changes = diffLines(p.Diff, p.Services)
		for _, w := range p.Diff.Warnings {
			it.Warnings = append(it.Warnings, warnView{Code: w.Code, Message: w.Message})
		}
		return it
	}
	it.Summary = summary(p)
	return it
}

// summary is a proposal's changes on one line, without a diff.
func summary(p apitype.Proposal) string {
	var parts []string
	for _, s := range p.Services {
		parts = append(parts, s.Action+" service "+firstNonEmpty(s.Name, s.Host))
	}
	for _, c := range p.Credentials {
		parts = append(parts, c.Action+" credential "+c.Key)
	}
	sum := strings.Join(parts, "; ")
	if r := []rune(sum); len(r) > 160 {
		sum = string(r[:159]) + "…"
	}
	return sum
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

// statusOf maps an error to an HTTP status, as the JSON API does.
func statusOf(err error) int { return errs.StatusOf(err) }

// message is what a page says about err: the broker's safe message with a
// short lead, never an internal cause.
func message(err error) string {
	e, ok := errs.As(err)
	if !ok || e.Kind == errs.KindInternal {
		return "Something went wrong on the server and nothing was changed. Try again; if it keeps failing, the server log has the details."
	}
	switch e.Kind {
	case errs.KindForbidden:
		return "Not allowed: " + e.Message
	case errs.KindConflict:
		return "Conflict: " + e.Message
	case errs.KindInvalid:
		return "Invalid input: " + e.Message
	}
	return e.Message
}

// proposalPath is the page of proposal id: the approval link (with its
// token) or the reviewer's view.
func proposalPath(id int64, tok string) string {
	if tok == "" {
		return "/proposals/" + strconv.FormatInt(id, 10)
	}
	return "/approve/" + strconv.FormatInt(id, 10) + "?token=" + url.QueryEscape(tok)
}

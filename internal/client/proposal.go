package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// proposalQuery builds the ?vault=&status= query of the proposal listings
// (empty values are left out).
func proposalQuery(vault, status string) string {
	q := url.Values{}
	if vault != "" {
		q.Set("vault", vault)
	}
	if status != "" {
		q.Set("status", status)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func proposalPath(prefix string, id int64) string {
	return prefix + "/" + strconv.FormatInt(id, 10)
}

// CreateProposal raises a proposal (agent side). vault may be empty for a
// scoped session or an agent with one vault; otherwise it is sent as
// ?vault=, which the server reads like X-Vault.
func (c *Client) CreateProposal(ctx context.Context, vault string, in apitype.CreateProposalRequest) (out apitype.ProposalCreated, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/proposals"+proposalQuery(vault, ""), in, &out)
}

// Proposals lists a vault's proposals as the agent side sees them; status
// (pending, applied, rejected, expired) filters when set.
func (c *Client) Proposals(ctx context.Context, vault, status string) (out apitype.ProposalList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/proposals"+proposalQuery(vault, status), nil, &out)
}

// Proposal shows one proposal (agent side).
func (c *Client) Proposal(ctx context.Context, id int64) (out apitype.Proposal, err error) {
	return out, c.do(ctx, http.MethodGet, proposalPath("/v1/proposals", id), nil, &out)
}

// AdminProposals lists the proposals a logged-in user may review: of one
// vault, or (vault empty) of every vault where the user is member or admin.
func (c *Client) AdminProposals(ctx context.Context, vault, status string) (out apitype.ProposalList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/admin/proposals"+proposalQuery(vault, status), nil, &out)
}

// AdminProposal shows one proposal to a reviewer.
func (c *Client) AdminProposal(ctx context.Context, id int64) (out apitype.Proposal, err error) {
	return out, c.do(ctx, http.MethodGet, proposalPath("/v1/admin/proposals", id), nil, &out)
}

// ApproveProposal applies a pending proposal; values fill (or override)
// its credential slots.
func (c *Client) ApproveProposal(ctx context.Context, id int64, values map[string]string) (out apitype.ProposalDecided, err error) {
	return c.ApproveShownProposal(ctx, id, values, "")
}

// ApproveShownProposal is ApproveProposal refused (409 proposal_changed)
// unless the proposal's diff still has fingerprint diff, the one the
// reviewer was shown ("" skips the check).
func (c *Client) ApproveShownProposal(ctx context.Context, id int64, values map[string]string, diff string) (out apitype.ProposalDecided, err error) {
	return out, c.do(ctx, http.MethodPost, proposalPath("/v1/admin/proposals", id)+"/approve", apitype.ApproveProposalRequest{Credentials: values, Diff: diff}, &out)
}

// RejectProposal rejects a pending proposal with a reason the agent sees.
func (c *Client) RejectProposal(ctx context.Context, id int64, reason string) (out apitype.ProposalDecided, err error) {
	return out, c.do(ctx, http.MethodPost, proposalPath("/v1/admin/proposals", id)+"/reject", apitype.RejectProposalRequest{Reason: reason}, &out)
}

// ApprovalDetails is the read-only view an approval link (av_appr_ token)
// gives of its proposal; id 0 leaves the id check out.
func (c *Client) ApprovalDetails(ctx context.Context, token string, id int64) (out apitype.Proposal, err error) {
	q := url.Values{"token": {token}}
	if id != 0 {
		q.Set("id", strconv.FormatInt(id, 10))
	}
	return out, c.do(ctx, http.MethodGet, "/v1/proposals/approve-details?"+q.Encode(), nil, &out)
}

package agentvault

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Recommended proposal polling (docs/protocol.md, "Proposals"): every [PollFast] during the
// first [PollFastFor], then every [PollSlow].
const (
	PollFast    = 3 * time.Second
	PollFastFor = 30 * time.Second
	PollSlow    = 10 * time.Second
)

// PollInterval is how long to wait before the next look at a pending
// proposal, elapsed after the waiting began: [PollFast] before
// [PollFastFor], [PollSlow] after.
func PollInterval(elapsed time.Duration) time.Duration {
	if elapsed < PollFastFor {
		return PollFast
	}
	return PollSlow
}

// CreateProposal asks for services and credentials to be added to, changed
// in or removed from the vault (POST /v1/proposals). Nothing changes until a
// human approves it at the returned ApprovalURL; show that URL to the user
// and wait with [Client.WaitProposal].
func (c *Client) CreateProposal(ctx context.Context, req ProposalRequest) (ProposalCreated, error) {
	var out ProposalCreated
	return out, c.do(ctx, http.MethodPost, "/v1/proposals", req, &out)
}

// GetProposal reads one proposal (GET /v1/proposals/{id}).
func (c *Client) GetProposal(ctx context.Context, id int64) (Proposal, error) {
	var out Proposal
	if id <= 0 {
		return out, errors.New("agent vault: proposal ids are positive")
	}
	return out, c.do(ctx, http.MethodGet, "/v1/proposals/"+strconv.FormatInt(id, 10), nil, &out)
}

// ListProposals lists the vault's proposals the token may see
// (GET /v1/proposals); a non-empty status narrows the list to one status.
func (c *Client) ListProposals(ctx context.Context, status string) ([]Proposal, error) {
	path := "/v1/proposals"
	if status != "" {
		path += "?" + url.Values{"status": {status}}.Encode()
	}
	var out struct {
		Proposals []Proposal `json:"proposals"`
	}
	return out.Proposals, c.do(ctx, http.MethodGet, path, nil, &out)
}

// WaitProposal polls a proposal with the recommended back-off (see
// [PollInterval]) until its status is terminal (applied, rejected or
// expired) and returns it; a rejected or expired proposal is not an error,
// so check Status. It stops with the context's error when ctx ends, and with
// the first error a poll returns (call it again to resume waiting).
func (c *Client) WaitProposal(ctx context.Context, id int64) (Proposal, error) {
	start := c.now()
	for {
		p, err := c.GetProposal(ctx, id)
		if err != nil {
			return p, err
		}
		if Terminal(p.Status) {
			return p, nil
		}
		if err := c.sleep(ctx, PollInterval(c.now().Sub(start))); err != nil {
			return p, err
		}
	}
}

package broker

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// A proposal that updates a service a user opted out of response
// redaction turns redaction back on (a proposal cannot carry the opt-out),
// and the diff says so.
func TestProposalDiffShowsRedactionTurnedBackOn(t *testing.T) {
	off := false
	cur := pdBearer("downloads", "dl.example.com", "DL_KEY")
	cur.RedactResponses = &off
	st := pdState(t, []string{"DL_KEY"}, cur)
	d := proposalDiff(st, pdChanges(t, []apitype.ProposalService{pdSet(pdBearer("downloads", "dl.example.com", "DL_KEY"))}, nil))
	for _, f := range d.Services[0].Fields {
		if f.Field == "response redaction" {
			if len(f.Before) != 1 || f.Before[0] != "off" || len(f.After) != 0 {
				t.Fatalf("response redaction field: %+v", f)
			}
			return
		}
	}
	t.Fatalf("the diff does not show response redaction: %+v", d.Services[0].Fields)
}

package cli

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// A name someone chose (the email tried at a failed login, an agent's
// name) cannot drive the terminal that prints the trail.
func TestAuditRowHasNoControlCharacters(t *testing.T) {
	row := auditRow(apitype.AuditEvent{Seq: 1, Actor: "x\x1b[2J\x1b[Hfake\r\nrow", Action: "auth.login", Target: "t\x07\x9b", Outcome: "failure"})
	for _, cell := range row {
		for _, r := range cell {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("cell %q holds control character %U", cell, r)
			}
		}
	}
	if !strings.Contains(row[2], "fake") {
		t.Fatalf("actor cell lost its text: %q", row[2])
	}
}

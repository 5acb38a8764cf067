package apitype

import "time"

// AuditEvent is one row of the admin audit trail (GET /v1/admin/audit,
// GET /v1/vaults/{name}/audit). It never holds a credential value.
type AuditEvent struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	ActorType string    `json:"actor_type"`
	ActorID   string    `json:"actor_id,omitempty"`
	Actor     string    `json:"actor"`
	Vault     string    `json:"vault,omitempty"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	Source    string    `json:"source,omitempty"`
	Outcome   string    `json:"outcome"`
	Detail    string    `json:"detail,omitempty"`
	Hash      string    `json:"hash"` // hex HMAC-SHA256 chaining the row to the one before
}

// AuditEventList is a page of the trail. Pages come newest first;
// NextCursor, when set, is the before= value of the next (older) page.
// With after= they come oldest first and NextCursor is the next after=.
type AuditEventList struct {
	Vault      string       `json:"vault,omitempty"`
	Events     []AuditEvent `json:"events"`
	NextCursor int64        `json:"next_cursor,omitempty"`
}

// AuditProblem is the first break verification found.
type AuditProblem struct {
	Kind    string `json:"kind"` // changed, inserted, deleted, head
	Seq     int64  `json:"seq,omitempty"`
	Last    int64  `json:"last,omitempty"`
	Message string `json:"message"`
}

// AuditVerifyResult is POST /v1/admin/audit/verify.
type AuditVerifyResult struct {
	OK       bool          `json:"ok"`
	Checked  int64         `json:"checked"`   // rows whose hash verified
	CutSeq   int64         `json:"cut_seq"`   // rows up to here were deleted by retention
	HeadSeq  int64         `json:"head_seq"`  // the newest row
	HeadHash string        `json:"head_hash"` // keep it elsewhere to detect a truncation later
	Problem  *AuditProblem `json:"problem,omitempty"`
}

package apitype

// ProposalDiff is what approving a pending proposal would change, computed
// by the broker against the vault as it is when the proposal is read. It
// is present on pending proposals only: a decided proposal has nothing
// left to compare.
type ProposalDiff struct {
	Services    []ServiceChange    `json:"services"`
	Credentials []CredentialChange `json:"credentials"`
	// Warnings are what a reviewer must not miss, in the order of the
	// changes, conflicts last.
	Warnings []ProposalWarning `json:"warnings"`
	// Fingerprint identifies this diff. Sent back with an approval, it
	// makes the broker refuse if the diff is no longer what was shown.
	Fingerprint string `json:"fingerprint"`
}

// ServiceChange is one service of the proposal, field by field.
type ServiceChange struct {
	Name   string        `json:"name"`
	Change string        `json:"change"` // ChangeAdd, ChangeUpdate, ChangeUnchanged or ChangeRemove
	Fields []FieldChange `json:"fields"`
}

// What approval does to one service (ServiceChange.Change) or credential
// slot (CredentialChange.Change).
const (
	ChangeAdd       = "add"       // a service or credential the vault does not have
	ChangeUpdate    = "update"    // a service whose fields change
	ChangeUnchanged = "unchanged" // a service approval leaves as it is
	ChangeRemove    = "remove"    // a service approval deletes
	ChangeReplace   = "replace"   // a credential whose current value is replaced
	ChangeDelete    = "delete"    // a credential approval deletes
)

// FieldChange compares one field of a service before and after approval.
// A value is a list of lines (header templates, credential key names,
// substitutions); an empty list means the field is absent or empty. Before
// is empty for an added service, After for a removed one.
type FieldChange struct {
	Field   string   `json:"field"`
	Before  []string `json:"before"`
	After   []string `json:"after"`
	Changed bool     `json:"changed"`
}

// CredentialChange is one credential slot of the proposal.
type CredentialChange struct {
	Key    string `json:"key"`
	Change string `json:"change"` // ChangeAdd, ChangeReplace or ChangeDelete
	// Exists says whether the vault holds the key now.
	Exists bool `json:"exists"`
}

// Warning codes of a ProposalWarning.
const (
	WarnNewHost        = "new_host"           // a credential would go to a host it never went to
	WarnReplacesValue  = "replaces_value"     // a set on a credential that exists
	WarnRemovesService = "removes_service"    // a service would be removed
	WarnDeletesValue   = "deletes_credential" // a credential and its value would be deleted
	WarnConflict       = "conflict"           // approving now would fail
	// WarnNewSurface: an existing credential would be substituted on a
	// request surface (body, header, …) no service at that host uses for
	// it yet, wherever the agent writes the placeholder.
	WarnNewSurface = "new_surface"
	// WarnWrappedValue: an existing credential would be written into a
	// header inside text no service at that host uses there yet.
	WarnWrappedValue = "wrapped_value"
)

// ProposalWarning is one thing a reviewer must look at. Message is the
// sentence to show; the other fields say what it is about.
type ProposalWarning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Service string `json:"service,omitempty"`
	Key     string `json:"key,omitempty"`
	Host    string `json:"host,omitempty"`
	// Surfaces (new_surface): the request surfaces, of path, query,
	// header, body and websocket, the credential would newly be written on.
	Surfaces []string `json:"surfaces,omitempty"`
}

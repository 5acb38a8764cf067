package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
)

// Editing a vault's whole service set as YAML: the same document
// `agent-vault vault service set -f` reads. Saving replaces the set through
// the broker; an error is shown next to the line of the field at fault.

// yamlPage is the YAML editor.
type yamlPage struct {
	VaultBase
	YAML      string
	ErrLine   int    // 1-based line of the field at fault (0: unknown)
	ErrField  string // its path, like services[0].auth.token
	ErrText   string
	LineCount int
}

// maxYAML bounds the document (the form limit applies too).
const maxYAML = 48 << 10

func (h *Handler) servicesYAMLForm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "services")
	if !ok {
		return
	}
	p := &yamlPage{VaultBase: vb}
	svcs, err := h.b.ListServices(r.Context(), s.actor, vb.Name)
	if err != nil {
		h.renderVault(w, r, statusOf(err), "services_yaml", s, "Services as YAML", p, message(err))
		return
	}
	out, _ := yaml.Marshal(apitype.ServiceList{Services: svcs.Services})
	p.YAML = string(out)
	h.renderVault(w, r, http.StatusOK, "services_yaml", s, "Services as YAML", p, "")
}

// yamlLineRE finds the line number in a YAML decoder's error.
var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func (h *Handler) servicesYAMLSave(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "services")
	if !ok {
		return
	}
	p := &yamlPage{VaultBase: vb, YAML: strings.ReplaceAll(r.PostFormValue("yaml"), "\r\n", "\n")}
	fail := func(status int, msg string) {
		h.renderVault(w, r, status, "services_yaml", s, "Services as YAML", p, msg+" Nothing was saved.")
	}
	if len(p.YAML) > maxYAML {
		p.ErrText = "The document is longer than " + strconv.Itoa(maxYAML>>10) + " KiB."
		fail(http.StatusRequestEntityTooLarge, p.ErrText)
		return
	}
	var list apitype.ServiceList
	dec := yaml.NewDecoder(bytes.NewReader([]byte(p.YAML)))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil && !errors.Is(err, io.EOF) {
		p.ErrText = strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(p.ErrText); m != nil {
			p.ErrLine, _ = strconv.Atoi(m[1])
		}
		fail(http.StatusBadRequest, "The YAML could not be read: "+p.ErrText)
		return
	}
	if list.Vault != "" && list.Vault != vb.Name {
		p.ErrField, p.ErrText = "vault", "this document names vault "+strconv.Quote(list.Vault)+"; remove the line or open that vault's page"
		p.ErrLine = lineOf(p.YAML, "vault")
		fail(http.StatusBadRequest, "Invalid input: "+p.ErrText+".")
		return
	}
	if list.Services == nil {
		list.Services = []apitype.Service{}
	}
	if _, err := h.b.ReplaceServices(r.Context(), s.actor, vb.Name, apitype.ServiceList{Services: list.Services}, false); err != nil {
		if e, ok := errs.As(err); ok && e.Field != "" {
			p.ErrField, p.ErrText = e.Field, e.Message
			p.ErrLine = lineOf(p.YAML, e.Field)
		}
		fail(statusOf(err), message(err))
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "services"), "services-replaced")
}

// lineOf is the 1-based line of the node a field path such as
// services[1].auth.token or services[0].substitutions[2].key names in the
// document, or of its nearest existing parent; 0 when none is found.
func lineOf(doc, path string) int {
	var root yaml.Node
	if yaml.Unmarshal([]byte(doc), &root) != nil || len(root.Content) == 0 {
		return 0
	}
	n := root.Content[0]
	line := 0
	for _, part := range splitPath(path) {
		next := (*yaml.Node)(nil)
		if idx, err := strconv.Atoi(part); err == nil {
			if n.Kind == yaml.SequenceNode && idx >= 0 && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		} else if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					next = n.Content[i+1]
					line = n.Content[i].Line
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// splitPath splits services[1].auth.token into services, 1, auth, token.
func splitPath(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
}

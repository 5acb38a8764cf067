package broker

import (
	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/catalog"
	"github.com/agent-vault/agent-vault/internal/errs"
)

// Catalog lists the service templates (public: it holds no secret).
func (b *Broker) Catalog() apitype.Catalog { return apitype.Catalog{Services: catalog.All()} }

// CatalogEntry returns one template by id.
func (b *Broker) CatalogEntry(id string) (apitype.CatalogEntry, error) {
	e, ok := catalog.Get(id)
	if !ok {
		return e, errs.NotFound("no catalog entry %q: list them with `agent-vault catalog`", id)
	}
	return e, nil
}

package broker

import (
	"context"
	"reflect"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
)

// checkRedactionOptOut refuses a service write, by anything but a user's
// own login session, that turns response redaction off: with it off an
// upstream that echoes requests hands the injected credential to the
// agent, so only a human decides it (docs/proxy.md, "Response
// redaction"). Agents and vault sessions may still write a service whose
// redaction a user turned off, as long as they leave it exactly as it is.
func checkRedactionOptOut(ctx context.Context, tx store.Store, a Actor, vaultID string, next []service.Service) error {
	if a.IsUser() {
		return nil
	}
	off := false
	for _, s := range next {
		off = off || !s.RedactResponses
	}
	if !off {
		return nil
	}
	cur, err := loadServices(ctx, tx, vaultID)
	if err != nil {
		return err
	}
	for i, s := range next {
		if s.RedactResponses || unchanged(cur, s) {
			continue
		}
		e := errs.Forbidden("service %q sets redact_responses: false; only a user may turn response redaction off, because it lets an upstream that echoes requests show the credential to the agent: ask a vault member to set it", s.Name).
			WithCode("redaction_opt_out_forbidden")
		e.Field = servicesField(i) + ".redact_responses"
		return e
	}
	return nil
}

// unchanged reports whether cur holds s exactly.
func unchanged(cur []service.Service, s service.Service) bool {
	for _, c := range cur {
		if c.Name == s.Name {
			return reflect.DeepEqual(c.ToAPI(), s.ToAPI())
		}
	}
	return false
}

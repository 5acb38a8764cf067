package cli

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// serviceRuleFlags are the rule flags of `service add` (see
// docs/services-and-agents.md, "Method and path rules").
type serviceRuleFlags struct {
	methods        []string
	allow, deny    []string
	allowPlaintext bool
}

func (f *serviceRuleFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&f.methods, "methods", nil, "only these methods, e.g. GET,POST (default: any)")
	fs.StringArrayVar(&f.allow, "allow-path", nil, "only paths matching this glob, e.g. /v1/* (repeatable)")
	fs.StringArrayVar(&f.deny, "deny-path", nil, "never paths matching this glob, e.g. /v1/admin/* (repeatable)")
	fs.BoolVar(&f.allowPlaintext, "allow-plaintext", false, "let the credential go over plain http:// (never port 443)")
}

func (f *serviceRuleFlags) set() bool {
	return len(f.methods) > 0 || len(f.allow) > 0 || len(f.deny) > 0 || f.allowPlaintext
}

// apply sets the rules on the one service given by flags.
func (f *serviceRuleFlags) apply(svcs []apitype.Service, fromFile bool) error {
	if !f.set() {
		return nil
	}
	if fromFile || len(svcs) != 1 {
		return errors.New("--methods, --allow-path, --deny-path and --allow-plaintext describe a service given by flags or --from-catalog; in a file, write methods:, paths: and allow_plaintext: on the service")
	}
	s := &svcs[0]
	s.Methods, s.AllowPlaintext = f.methods, f.allowPlaintext
	if len(f.allow) > 0 || len(f.deny) > 0 {
		s.Paths = &apitype.PathRules{Allow: f.allow, Deny: f.deny}
	}
	return nil
}

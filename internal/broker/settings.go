package broker

import (
	"context"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// SettingsHook applies instance settings to the running server (request
// log retention, rate limits) without a restart. An error refuses the
// change, which is then not saved.
type SettingsHook func(model.Settings) error

// SetSettingsHook installs the hook; the daemon calls it once at start.
func (b *Broker) SetSettingsHook(h SettingsHook) { b.settingsHook = h }

// rateLimitProfiles are the accepted rate_limit_profile values.
var rateLimitProfiles = map[string]bool{"default": true, "strict": true, "loose": true, "off": true}

// settingsView renders settings for owners.
func (b *Broker) settingsView(s model.Settings) apitype.InstanceSettings {
	domains := append([]string{}, s.AllowedEmailDomains...)
	out := apitype.InstanceSettings{InviteOnly: &s.InviteOnly, AllowedEmailDomains: &domains, RateLimitsLocked: b.rateLimitsLocked}
	if s.LogMaxAgeHours > 0 {
		out.LogMaxAgeHours = &s.LogMaxAgeHours
	}
	if s.LogMaxRowsPerVault > 0 {
		out.LogMaxRowsPerVault = &s.LogMaxRowsPerVault
	}
	if s.RateLimitProfile != "" {
		out.RateLimitProfile = &s.RateLimitProfile
	}
	if len(s.RateLimitOverrides) > 0 {
		o := s.RateLimitOverrides.Map()
		out.RateLimitOverrides = &o
	}
	out.RateLimit = toRateLimitSetting(s.RateLimitProfile, s.RateLimitOverrides, b.rateLimitsLocked)
	out.SMTPConfigured = b.mailer != nil
	if s.AuditRetentionDays > 0 {
		out.AuditRetentionDays = &s.AuditRetentionDays
	}
	return out
}

// SetRateLimitsLocked records that AGENT_VAULT_RATELIMIT_LOCK is on, so
// settings show it and rate-limit changes are refused up front.
func (b *Broker) SetRateLimitsLocked(locked bool) { b.rateLimitsLocked = locked }

// GetInstanceSettings reads instance settings (owners).
func (b *Broker) GetInstanceSettings(ctx context.Context, a Actor) (apitype.InstanceSettings, error) {
	if err := authorize(a, "", policy.ChangeInstanceSetting); err != nil {
		return apitype.InstanceSettings{}, err
	}
	s, err := b.st.Settings().Get(ctx)
	if err != nil {
		return apitype.InstanceSettings{}, internal(err, "reading settings")
	}
	return b.settingsView(s), nil
}

// Settings returns the stored instance settings (for the daemon at start).
func (b *Broker) Settings(ctx context.Context) (model.Settings, error) {
	s, err := b.st.Settings().Get(ctx)
	return s, internal(err, "reading settings")
}

// UpdateInstanceSettings changes the settings present in in; they apply
// at once through the settings hook.
func (b *Broker) UpdateInstanceSettings(ctx context.Context, a Actor, in apitype.InstanceSettings) (apitype.InstanceSettings, error) {
	if err := authorize(a, "", policy.ChangeInstanceSetting); err != nil {
		return apitype.InstanceSettings{}, err
	}
	var out apitype.InstanceSettings
	applied := false
	err := b.tx(ctx, func(tx store.Store) error {
		s, err := tx.Settings().Get(ctx)
		if err != nil {
			return internal(err, "reading settings")
		}
		if in.InviteOnly != nil {
			s.InviteOnly = *in.InviteOnly
		}
		if in.AllowedEmailDomains != nil {
			ds, err := normalizeDomains(*in.AllowedEmailDomains)
			if err != nil {
				return err
			}
			s.AllowedEmailDomains = ds
		}
		if in.LogMaxAgeHours != nil {
			if *in.LogMaxAgeHours < 1 || *in.LogMaxAgeHours > 24*366 {
				return errs.Invalid("log_max_age_hours", "log_max_age_hours must be between 1 and 8784")
			}
			s.LogMaxAgeHours = *in.LogMaxAgeHours
		}
		if in.LogMaxRowsPerVault != nil {
			if *in.LogMaxRowsPerVault < 1 || *in.LogMaxRowsPerVault > 10_000_000 {
				return errs.Invalid("log_max_rows_per_vault", "log_max_rows_per_vault must be between 1 and 10000000")
			}
			s.LogMaxRowsPerVault = *in.LogMaxRowsPerVault
		}
		if in.RateLimit != nil {
			if in.RateLimitProfile != nil || in.RateLimitOverrides != nil {
				return errs.Invalid("rate_limit", "send either rate_limit or rate_limit_profile and rate_limit_overrides, not both")
			}
			if b.rateLimitsLocked {
				return errs.Conflict("rate limits are locked by AGENT_VAULT_RATELIMIT_LOCK on the server: change them there").WithCode("rate_limits_locked")
			}
			profile, overrides, err := fromRateLimitSetting(*in.RateLimit)
			if err != nil {
				return err
			}
			s.RateLimitProfile, s.RateLimitOverrides = profile, overrides
		}
		if in.RateLimitProfile != nil {
			if b.rateLimitsLocked {
				return errs.Conflict("rate limits are locked by AGENT_VAULT_RATELIMIT_LOCK on the server: change them there").WithCode("rate_limits_locked")
			}
			if !rateLimitProfiles[*in.RateLimitProfile] {
				return errs.Invalid("rate_limit_profile", "rate_limit_profile must be default, strict, loose or off, not %q", *in.RateLimitProfile)
			}
			s.RateLimitProfile = *in.RateLimitProfile
		}
		if in.RateLimitOverrides != nil {
			if b.rateLimitsLocked {
				return errs.Conflict("rate limits are locked by AGENT_VAULT_RATELIMIT_LOCK on the server: change them there").WithCode("rate_limits_locked")
			}
			o, err := ratelimit.ParseOverrideMap(*in.RateLimitOverrides)
			if err != nil {
				return errs.Invalid("rate_limit_overrides", "%v", err)
			}
			s.RateLimitOverrides = o
		}
		if in.AuditRetentionDays != nil {
			if *in.AuditRetentionDays < 0 || *in.AuditRetentionDays > 36600 {
				return errs.Invalid("audit_retention_days", "audit_retention_days must be between 0 (keep for ever) and 36600")
			}
			s.AuditRetentionDays = *in.AuditRetentionDays
		}
		if b.settingsHook != nil {
			// Applied before the commit, so that settings the server refuses
			// are never stored; undone below if anything fails, a refusal
			// included (the hook may have applied part of them).
			applied = true
			if err := b.settingsHook(s); err != nil {
				return errs.Conflict("the server refused the settings: %v", err)
			}
		}
		if err := tx.Settings().Put(ctx, s); err != nil {
			return internal(err, "saving settings")
		}
		out = b.settingsView(s)
		return b.record(ctx, tx, with(a.event(trail.SettingsUpdate, model.Vault{}, settingsChanged(in)), ""))
	})
	if err != nil && applied {
		// Back to what is stored now (another update may have committed
		// meanwhile), not to what this one read.
		stored, rerr := b.st.Settings().Get(context.WithoutCancel(ctx))
		if rerr == nil {
			rerr = b.settingsHook(stored)
		}
		if rerr != nil {
			b.log.Error("restoring the running settings after a failed update", "err", rerr)
		}
	}
	return out, err
}

// normalizeDomains validates and lowercases email domains.
func normalizeDomains(in []string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for i, d := range in {
		d = model.LowerASCII(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		field := "allowed_email_domains[" + strconv.Itoa(i) + "]"
		if d == "" {
			continue
		}
		if !model.IsASCII(d) {
			return nil, errs.Invalid(field, "%q is not an ASCII domain name: write an internationalised domain in its xn-- form", d)
		}
		if len(d) > 253 || !strings.Contains(d, ".") || strings.ContainsAny(d, " @/:,") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
			return nil, errs.Invalid(field, "%q is not a domain name like example.com", d)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// errDomain refuses an email outside the allowed domains.
func errDomain(email string) error {
	return errs.Forbidden("%s is not in one of this instance's allowed email domains: ask an owner (`agent-vault owner settings get`)", email).WithCode("email_domain_not_allowed")
}

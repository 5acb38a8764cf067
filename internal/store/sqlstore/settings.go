package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/store"
)

type settings struct{ *handle }

// Setting keys. Invite-only is on by default: once the owner exists,
// nobody registers without an invite unless the owner opens it.
const (
	keyInviteOnly     = "invite_only"
	keyEmailDomains   = "allowed_email_domains"
	keyLogMaxAgeHours = "log_max_age_hours"
	keyLogMaxRows     = "log_max_rows_per_vault"
	keyRateLimit      = "rate_limit_profile"
	keyRateOverrides  = "rate_limit_overrides"
	keyAuditDays      = "audit_retention_days"
)

func (s settings) Get(ctx context.Context) (model.Settings, error) {
	out := model.Settings{InviteOnly: true}
	rows, err := s.query(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return out, err
		}
		switch k {
		case keyInviteOnly:
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				return out, perr
			}
			out.InviteOnly = b
		case keyEmailDomains:
			if v != "" {
				out.AllowedEmailDomains = strings.Split(v, ",")
			}
		case keyLogMaxAgeHours:
			out.LogMaxAgeHours, _ = strconv.Atoi(v)
		case keyLogMaxRows:
			out.LogMaxRowsPerVault, _ = strconv.Atoi(v)
		case keyRateLimit:
			out.RateLimitProfile = v
		case keyAuditDays:
			out.AuditRetentionDays, _ = strconv.Atoi(v)
		case keyRateOverrides:
			if v != "" {
				var m map[string]string
				if err := json.Unmarshal([]byte(v), &m); err != nil {
					return out, fmt.Errorf("stored rate-limit overrides: %w", err)
				}
				o, err := ratelimit.ParseOverrideMap(m)
				if err != nil {
					return out, fmt.Errorf("stored rate-limit overrides: %w", err)
				}
				out.RateLimitOverrides = o
			}
		}
	}
	return out, rows.Err()
}

func (s settings) Put(ctx context.Context, x model.Settings) error {
	now := fmtTime(time.Now())
	overrides := ""
	if len(x.RateLimitOverrides) > 0 {
		b, err := json.Marshal(x.RateLimitOverrides.Map())
		if err != nil {
			return err
		}
		overrides = string(b)
	}
	for k, v := range map[string]string{
		keyRateOverrides:  overrides,
		keyInviteOnly:     strconv.FormatBool(x.InviteOnly),
		keyEmailDomains:   strings.Join(x.AllowedEmailDomains, ","),
		keyLogMaxAgeHours: strconv.Itoa(x.LogMaxAgeHours),
		keyLogMaxRows:     strconv.Itoa(x.LogMaxRowsPerVault),
		keyRateLimit:      x.RateLimitProfile,
		keyAuditDays:      strconv.Itoa(x.AuditRetentionDays),
	} {
		if _, err := s.exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, now); err != nil {
			return err
		}
	}
	return nil
}

type keyringStore struct{ *handle }

func (s keyringStore) Load(ctx context.Context) (keyring.State, bool, error) {
	var st keyring.State
	var t, m, p int64
	err := s.row(ctx, `SELECT dek_plain, dek_wrapped, kdf_salt, kdf_time, kdf_memory, kdf_threads FROM keyring WHERE id = 1`).
		Scan(&st.Plain, &st.Wrapped, &st.Salt, &t, &m, &p)
	if errors.Is(scanErr(err), store.ErrNotFound) {
		return keyring.State{}, false, nil
	}
	if err != nil {
		return keyring.State{}, false, err
	}
	st.KDF = keyring.KDFParams{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(p)}
	return st, true, nil
}

func (s keyringStore) Save(ctx context.Context, st keyring.State) error {
	var plain, wrapped, salt any
	if st.Protected() {
		wrapped, salt = st.Wrapped, st.Salt
	} else {
		plain = st.Plain
	}
	_, err := s.exec(ctx, `INSERT INTO keyring (id, dek_plain, dek_wrapped, kdf_salt, kdf_time, kdf_memory, kdf_threads, updated_at)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET dek_plain = excluded.dek_plain, dek_wrapped = excluded.dek_wrapped,
		kdf_salt = excluded.kdf_salt, kdf_time = excluded.kdf_time, kdf_memory = excluded.kdf_memory,
		kdf_threads = excluded.kdf_threads, updated_at = excluded.updated_at`,
		plain, wrapped, salt, int64(st.KDF.Time), int64(st.KDF.MemoryKiB), int64(st.KDF.Threads), fmtTime(time.Now()))
	return err
}

var (
	_ store.Settings     = settings{}
	_ store.KeyringStore = keyringStore{}
)

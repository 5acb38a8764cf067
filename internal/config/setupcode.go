package config

import (
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// EnvSetupCode is the one-time setup code of the first (owner) account.
// For the server it is a code chosen by the operator (containers, Helm)
// instead of a random one; for `agent-vault auth register` it is the code
// to send.
const EnvSetupCode = "AGENT_VAULT_SETUP_CODE"

// SetupCodeFileName is the file in the server's data dir that holds the
// setup code while the instance has no account, so that `auth register`
// run by the same user on the same machine finds it.
const SetupCodeFileName = "setup-code"

// SetupCodeFile is what the server writes to SetupCodeFileName (mode
// 0600): the code, and the addresses it answers on, so that the CLI sends
// the code only to the server that wrote it.
type SetupCodeFile struct {
	Code    string `json:"code"`
	Listen  string `json:"listen"`   // the bound host:port
	BaseURL string `json:"base_url"` // the external URL
}

// SetupCodePath is the setup code file of a data dir.
func SetupCodePath(dataDir string) string { return filepath.Join(dataDir, SetupCodeFileName) }

// WriteSetupCode saves f in dataDir, readable by its owner only.
func WriteSetupCode(dataDir string, f SetupCodeFile) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(SetupCodePath(dataDir), append(b, '\n'), 0o600)
}

// RemoveSetupCode deletes the setup code file; a missing one is fine.
func RemoveSetupCode(dataDir string) error {
	err := os.Remove(SetupCodePath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// SetupCodeFor returns the code in dataDir's setup code file when the
// server that wrote it is the one at address (the CLI's server URL);
// ok is false when there is no such file, it is not only its owner's, or
// it belongs to another server.
func SetupCodeFor(dataDir, address string) (code string, ok bool) {
	path := SetupCodePath(dataDir)
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 || fi.Size() > 4096 {
		return "", false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	var f SetupCodeFile
	if json.Unmarshal(b, &f) != nil || f.Code == "" {
		return "", false
	}
	if !sameServer(address, f) {
		return "", false
	}
	return f.Code, true
}

// sameServer reports whether the URL address reaches the server that
// wrote f: its external URL, or its port on a loopback name when it
// listens on loopback or on every address.
func sameServer(address string, f SetupCodeFile) bool {
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		return false
	}
	if b, err := url.Parse(f.BaseURL); err == nil && b.Host != "" && strings.EqualFold(b.Scheme, u.Scheme) && strings.EqualFold(hostPort(b), hostPort(u)) {
		return true
	}
	lh, lp, err := net.SplitHostPort(f.Listen)
	if err != nil || u.Scheme != "http" || u.Port() != lp {
		return false
	}
	if !loopbackName(u.Hostname()) {
		return false
	}
	ip := net.ParseIP(lh)
	return lh == "" || strings.EqualFold(lh, "localhost") || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified()))
}

// hostPort is u's host with its scheme's default port made explicit.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// loopbackName reports whether host names this machine's loopback.
func loopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// EnvMasterPasswordFile names a file holding the master password (its
// first line), for service managers and orchestrators that mount secrets
// as files.
const EnvMasterPasswordFile = "AGENT_VAULT_MASTER_PASSWORD_FILE"

// CredentialName is the name of the systemd credential
// (LoadCredential=master-password:…) read from $CREDENTIALS_DIRECTORY.
const CredentialName = "master-password"

// maxPasswordFile bounds what is read from a password file.
const maxPasswordFile = 4096

// MasterPasswordFile returns the file the master password should be read
// from: AGENT_VAULT_MASTER_PASSWORD_FILE, else the systemd credential
// master-password when $CREDENTIALS_DIRECTORY holds one; ok is false when
// neither applies.
func MasterPasswordFile(env Env) (path string, ok bool) {
	if env == nil {
		env = os.Getenv
	}
	if p := env(EnvMasterPasswordFile); p != "" {
		return p, true
	}
	if dir := env("CREDENTIALS_DIRECTORY"); dir != "" {
		p := filepath.Join(dir, CredentialName)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// ReadPasswordFile returns the first line of the file at path, without
// its line ending. Errors name the file, never its content.
func ReadPasswordFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the master password file: %w (set %s to a readable file, or unset it)", err, EnvMasterPasswordFile)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading the master password file %s: %w", path, err)
	}
	if len(b) > maxPasswordFile {
		clear(b)
		return nil, fmt.Errorf("the master password file %s is longer than %d bytes: it should hold the password on one line", path, maxPasswordFile)
	}
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	out := append([]byte(nil), line...)
	clear(b)
	if len(out) == 0 {
		return nil, errors.New("the master password file " + path + " is empty: write the password on its first line")
	}
	return out, nil
}

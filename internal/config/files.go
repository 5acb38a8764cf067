package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CLISession is the CLI's login, kept in the data dir with mode 0600.
type CLISession struct {
	Token   string `json:"token"`
	Address string `json:"address"`
	Email   string `json:"email,omitempty"`
}

func sessionPath(dataDir string) string { return filepath.Join(dataDir, "session.json") }
func contextPath(dataDir string) string { return filepath.Join(dataDir, "context") }

// ProjectFile is the per-directory vault pin read by vault resolution.
const ProjectFile = "agent-vault.json"

// ErrNoSession means the CLI is not logged in.
var ErrNoSession = errors.New("not logged in: run `agent-vault auth login` (or `agent-vault auth register` on a new server)")

// ReadSession loads the CLI session.
func ReadSession(dataDir string) (CLISession, error) {
	var s CLISession
	b, err := os.ReadFile(sessionPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return s, ErrNoSession
	}
	if err != nil {
		return s, fmt.Errorf("reading the CLI session: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Token == "" {
		return s, fmt.Errorf("the CLI session file %s is damaged: log in again with `agent-vault auth login`", sessionPath(dataDir))
	}
	return s, nil
}

// WriteSession saves the CLI session with mode 0600.
func WriteSession(dataDir string, s CLISession) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(sessionPath(dataDir), append(b, '\n'), 0o600)
}

// RemoveSession deletes the CLI session; a missing one is fine.
func RemoveSession(dataDir string) error {
	err := os.Remove(sessionPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// EnsureDir creates dir with mode 0700, and tightens it if it exists wider.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restricting data directory %s to 0700: %w", dir, err)
		}
	}
	return nil
}

// WriteFileAtomic writes data to a temp file in the same directory and
// renames it into place, so readers never see a partial file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := EnsureDir(filepath.Dir(path)); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// VaultSource says where a resolved vault name came from.
type VaultSource string

// Vault resolution sources, strongest first (README, "CLI").
const (
	FromFlag    VaultSource = "--vault flag"
	FromEnv     VaultSource = EnvVault
	FromProject VaultSource = "project file"
	FromContext VaultSource = "vault use"
	FromDefault VaultSource = "default"
	FromToken   VaultSource = "agent token" // the server's answer for an agent's only vault
)

// ResolvedVault is the vault a command acts on and why.
type ResolvedVault struct {
	Name   string
	Source VaultSource
	Path   string // the project file, when Source is FromProject
}

// ResolveVault applies --vault > AGENT_VAULT_VAULT > agent-vault.json in
// cwd or a parent > the `vault use` context > "default".
func ResolveVault(flag string, env Env, cwd, dataDir string) (ResolvedVault, error) {
	if env == nil {
		env = os.Getenv
	}
	if v := strings.TrimSpace(flag); v != "" {
		return ResolvedVault{Name: v, Source: FromFlag}, nil
	}
	if v := strings.TrimSpace(env(EnvVault)); v != "" {
		return ResolvedVault{Name: v, Source: FromEnv}, nil
	}
	if p, name, err := findProjectFile(cwd); err != nil {
		return ResolvedVault{}, err
	} else if p != "" {
		return ResolvedVault{Name: name, Source: FromProject, Path: p}, nil
	}
	if b, err := os.ReadFile(contextPath(dataDir)); err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return ResolvedVault{Name: v, Source: FromContext}, nil
		}
	}
	return ResolvedVault{Name: "default", Source: FromDefault}, nil
}

// projectFile is agent-vault.json.
type projectFile struct {
	Vault string `json:"vault"`
}

// findProjectFile walks up from dir looking for agent-vault.json.
func findProjectFile(dir string) (path, vault string, err error) {
	if dir == "" {
		return "", "", nil
	}
	for {
		p := filepath.Join(dir, ProjectFile)
		b, err := os.ReadFile(p)
		if err == nil {
			var pf projectFile
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&pf); err != nil || strings.TrimSpace(pf.Vault) == "" {
				return "", "", fmt.Errorf("%s is not valid: it must be a JSON object like {\"vault\": \"name\"}", p)
			}
			return p, strings.TrimSpace(pf.Vault), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", nil
		}
		dir = parent
	}
}

// WriteProjectFile writes agent-vault.json in dir, refusing to overwrite.
func WriteProjectFile(dir, vault string) (string, error) {
	p := filepath.Join(dir, ProjectFile)
	if _, err := os.Stat(p); err == nil {
		return p, fmt.Errorf("%s already exists: edit it or remove it first", p)
	}
	b, _ := json.MarshalIndent(projectFile{Vault: vault}, "", "  ")
	return p, os.WriteFile(p, append(b, '\n'), 0o644)
}

// UseVault sets the `vault use` context.
func UseVault(dataDir, vault string) error {
	return WriteFileAtomic(contextPath(dataDir), []byte(vault+"\n"), 0o600)
}

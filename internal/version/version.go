// Package version says which build of Agent Vault is running: a release
// version stamped at link time, else the module version and the VCS
// information the Go toolchain records in every binary built from a
// checkout (commit, commit time, uncommitted changes).
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Release builds (scripts/release.sh) set these at link time, so that a
// build from any checkout (a git worktree, a source archive with the
// commit named) carries them:
//
//	go build -ldflags "-X github.com/agent-vault/agent-vault/internal/version.stamped=v1.2.3
//	  -X …/internal/version.stampedCommit=<sha> -X …/internal/version.stampedTime=<RFC 3339>
//	  -X …/internal/version.stampedModified=true"
//
// Set, they take precedence over what the toolchain recorded.
var stamped, stampedCommit, stampedTime, stampedModified string

// Info describes a build.
type Info struct {
	// Version is the release version (v1.2.3), the module version
	// recorded by `go install …@version`, or "dev".
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from; empty when
	// the build recorded none (-buildvcs=false, or not from a checkout).
	Commit string `json:"commit,omitempty"`
	// Time is the commit's time (RFC 3339), not the build's.
	Time string `json:"time,omitempty"`
	// Modified reports uncommitted changes in the checkout at build time.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	in := fromBuildInfo(bi, stamped)
	if stampedCommit != "" {
		in.Commit, in.Time, in.Modified = stampedCommit, stampedTime, stampedModified == "true"
	}
	return in
}

// fromBuildInfo derives Info from recorded build information and a
// link-time version (either may be empty).
func fromBuildInfo(bi *debug.BuildInfo, ldVersion string) Info {
	in := Info{Version: ldVersion, GoVersion: runtime.Version()}
	if bi == nil {
		if in.Version == "" {
			in.Version = "dev"
		}
		return in
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	if in.Version == "" {
		in.Version = moduleVersion(bi.Main.Version)
	}
	return in
}

// moduleVersion keeps a real module version and maps the placeholder of
// a build from a checkout without VCS information to "dev". A checkout's
// pseudo-version (v0.0.0-20260101120000-abcdef123456) is kept: it names
// the commit too.
func moduleVersion(v string) string {
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

// Short is the one-line form: the version, then the commit (12 digits),
// its date and "modified" when they add something.
func (in Info) Short() string {
	var extra []string
	if in.Commit != "" && !strings.Contains(in.Version, shortCommit(in.Commit)) {
		extra = append(extra, shortCommit(in.Commit))
	}
	if in.Time != "" {
		extra = append(extra, in.Time)
	}
	if in.Modified && !strings.HasSuffix(in.Version, "+dirty") {
		extra = append(extra, "modified")
	}
	if len(extra) == 0 {
		return in.Version
	}
	return in.Version + " (" + strings.Join(extra, ", ") + ")"
}

// Ident is what tells two builds apart in one word: the version, plus the
// commit (and "+dirty") for development builds, whose version says "dev".
// The CLI compares it with the server's.
func (in Info) Ident() string {
	if in.Version != "dev" || in.Commit == "" {
		return in.Version
	}
	id := "dev-" + shortCommit(in.Commit)
	if in.Modified {
		id += "+dirty"
	}
	return id
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

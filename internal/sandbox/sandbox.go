// Package sandbox starts a program in new user, mount, network, PID and IPC
// namespaces without privileges (unprivileged user namespaces; no setuid
// helper, no daemon): the program keeps the caller's uid and gid, its
// terminal and the filesystem as the caller sees it, except for hidden
// paths (covered by empty mounts); its network is a loopback interface
// where relays listen, each forwarding connections to one address outside.
// Nothing else is reachable.
//
// The caller (Start) re-executes the running binary, whose main must call
// InitMain when its first argument is InitArg. That init process sets the
// namespaces up, starts the program, relays, forwards signals and exits
// with the program's status. docs/agents.md describes what this protects.
package sandbox

import (
	"bytes"
	"errors"
	"os"
)

// InitArg is the hidden first argument that makes the binary the sandbox's
// init process.
const InitArg = "__sandbox-init"

// ErrUnavailable marks a failure to create the sandbox itself (no user
// namespaces, a seccomp or AppArmor rule against them, no Linux): the
// program was not started and may be started some other way.
var ErrUnavailable = errors.New("the sandbox is unavailable")

// Relay makes Dial (an address outside) reachable inside at Listen (a
// loopback host:port).
type Relay struct {
	Listen, Dial string
}

// Config is the program to start and its sandbox.
type Config struct {
	Path string   // the program, resolved
	Args []string // its argv, Args[0] included
	Env  []string
	Dir  string // working directory ("" = the caller's)

	// Hide lists directories (covered by an empty tmpfs) and other files
	// (covered by /dev/null) the program must not see. Missing paths are
	// skipped.
	Hide   []string
	Relays []Relay

	Stdin, Stdout, Stderr *os.File
}

// spec is what the parent hands the init process (as its argument).
type spec struct {
	Path   string   `json:"path"`
	Args   []string `json:"args"`
	Dir    string   `json:"dir,omitempty"`
	Hide   []string `json:"hide,omitempty"`
	Listen []string `json:"listen,omitempty"`
}

// Messages on the control socket between the parent and init. Each is one
// SOCK_SEQPACKET datagram whose first byte says what it is.
const (
	msgReady   = 'R' // init → parent: the program started
	msgSetup   = 'E' // init → parent: setting the sandbox up failed (text follows)
	msgStart   = 'F' // init → parent: the program could not be started (text follows)
	msgConn    = 'C' // init → parent: a connection to relay N (next byte), with its fd
	msgSignal  = 'S' // parent → init: deliver signal N (next byte) to the program
	exitNoInit = 125 // init's status when it fails before the program starts
)

// Inside reports whether this process already runs in a sandbox of ours
// (its PID 1 is our init). A sandbox cannot be nested, since the program
// holds no capability to set one up; it needs none either.
func Inside() bool {
	b, err := os.ReadFile("/proc/1/cmdline")
	if err != nil {
		return false
	}
	args := bytes.Split(b, []byte{0})
	return len(args) > 1 && string(args[1]) == InitArg
}

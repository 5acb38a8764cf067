//go:build !linux

package sandbox

import (
	"fmt"
	"os"
)

// Process is a program running in a sandbox (never, off Linux).
type Process struct{}

// Start always fails off Linux: the sandbox needs Linux namespaces.
func Start(Config) (*Process, error) {
	return nil, fmt.Errorf("%w: it needs Linux user namespaces", ErrUnavailable)
}

// Signal does nothing off Linux.
func (p *Process) Signal(os.Signal) error { return nil }

// Wait returns 1 off Linux.
func (p *Process) Wait() int { return 1 }

// InitMain is never reached off Linux.
func InitMain([]string) int { return 125 }

//go:build unix && !linux

package sandbox

import "errors"

// fdDir lists this process's descriptors.
const fdDir = "/dev/fd"

// closeRangeOnExec has no one-call form here: the caller walks fdDir.
func closeRangeOnExec() error { return errors.ErrUnsupported }

package sandbox

import (
	"math"

	"golang.org/x/sys/unix"
)

// fdDir lists this process's descriptors.
const fdDir = "/proc/self/fd"

// closeRangeOnExec marks descriptors 3 and up close-on-exec in one call
// (Linux 5.11 and later; older kernels answer ENOSYS or EINVAL).
func closeRangeOnExec() error {
	return unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
}

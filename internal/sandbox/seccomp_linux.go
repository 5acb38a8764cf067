package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The program shares the caller's terminal. TIOCSTI pushes bytes into the
// terminal's input as if typed: a program could queue a command for the
// shell that reads the terminal after it exits, outside the sandbox.
// TIOCLINUX can copy the console's screen into its input likewise. A
// seccomp filter refuses both ioctls (EPERM); every other call is
// allowed.

// ioctlArch is an architecture's audit number and its ioctl syscall
// numbers.
type ioctlArch struct {
	audit uint32
	nrs   []uint32
}

// filterArches are the architectures the program may call the kernel
// with: the native one and, on 64-bit x86 and ARM, the 32-bit one. All
// listed are little-endian (the command's low word is at offset 24).
func filterArches() ([]ioctlArch, bool) {
	switch runtime.GOARCH {
	case "amd64": // x32 calls carry bit 30 and have their own ioctl (514)
		return []ioctlArch{{unix.AUDIT_ARCH_X86_64, []uint32{unix.SYS_IOCTL, 0x40000000 | 514}}, {unix.AUDIT_ARCH_I386, []uint32{54}}}, true
	case "arm64":
		return []ioctlArch{{unix.AUDIT_ARCH_AARCH64, []uint32{unix.SYS_IOCTL}}, {unix.AUDIT_ARCH_ARM, []uint32{54}}}, true
	case "riscv64":
		return []ioctlArch{{unix.AUDIT_ARCH_RISCV64, []uint32{unix.SYS_IOCTL}}}, true
	case "loong64":
		return []ioctlArch{{unix.AUDIT_ARCH_LOONGARCH64, []uint32{unix.SYS_IOCTL}}}, true
	case "ppc64le":
		return []ioctlArch{{unix.AUDIT_ARCH_PPC64LE, []uint32{unix.SYS_IOCTL}}}, true
	}
	return nil, false
}

// terminalFilter is the BPF program: for an ioctl on a known architecture
// whose command is TIOCSTI or TIOCLINUX, EPERM; any call on an unknown
// architecture, EPERM; everything else allowed.
func terminalFilter(arches []ioctlArch) []unix.SockFilter {
	const (
		offNr, offArch, offCmd = 0, 4, 24
		ld                     = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq                    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret                    = unix.BPF_RET | unix.BPF_K
	)
	var p []unix.SockFilter
	// The ioctl-number jumps' targets (the command check) are patched once
	// the tail's position is known.
	var fixes []int
	p = append(p, unix.SockFilter{Code: ld, K: offArch})
	for _, a := range arches {
		// if arch != a: skip this block (2 + len(nrs) instructions)
		p = append(p, unix.SockFilter{Code: jeq, K: a.audit, Jt: 0, Jf: uint8(1 + len(a.nrs) + 1)})
		p = append(p, unix.SockFilter{Code: ld, K: offNr})
		for _, nr := range a.nrs {
			fixes = append(fixes, len(p))
			p = append(p, unix.SockFilter{Code: jeq, K: nr})
		}
		p = append(p, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW}) // this arch, not ioctl
	}
	p = append(p, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)}) // unknown arch
	check := len(p)
	p = append(p,
		unix.SockFilter{Code: ld, K: offCmd},
		unix.SockFilter{Code: jeq, K: unix.TIOCSTI, Jt: 2},
		unix.SockFilter{Code: jeq, K: unix.TIOCLINUX, Jt: 1},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
	)
	for _, at := range fixes {
		p[at].Jt = uint8(check - at - 1)
		// not this ioctl number: fall through to the next (or the arch's allow)
	}
	return p
}

// installTerminalFilter loads the filter on the calling thread (which
// must have no_new_privs set); a program it executes inherits it.
func installTerminalFilter() error {
	arches, ok := filterArches()
	if !ok {
		return nil // no filter for this architecture (docs/agents.md)
	}
	prog := terminalFilter(arches)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		return fmt.Errorf("terminal filter: %v", err)
	}
	return nil
}

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	keyringProbe = "sandbox-test-keyring-probe"
	tiocstiProbe = "sandbox-test-tiocsti-probe"
)

// injectIntoOwnTerminal makes a new pseudo-terminal its controlling
// terminal and pushes a byte into its input with TIOCSTI, as a program
// would into the terminal it shares with your shell; it reports the
// outcome.
func injectIntoOwnTerminal() string {
	if _, err := unix.Setsid(); err != nil {
		return "setsid: " + err.Error()
	}
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		return "ptmx: " + err.Error()
	}
	// (Neither end is closed: closing the master would hang this session
	// up before it reports; exiting closes both.)
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return "unlockpt: " + err.Error()
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		return "ptsname: " + err.Error()
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR, 0) // becomes the controlling terminal
	if err != nil {
		return "pts: " + err.Error()
	}
	b := byte('x')
	_, _, e := unix.Syscall(unix.SYS_IOCTL, pts.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&b)))
	if e != 0 {
		return "TIOCSTI: " + e.Error()
	}
	return "TIOCSTI: injected"
}

// TestMain lets the test binary be the sandbox's init, as the real binary
// is when `run` re-executes it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == InitArg {
		os.Exit(InitMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == tiocstiProbe {
		fmt.Println(injectIntoOwnTerminal())
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == keyringProbe {
		// The program: is the key in its session keyring?
		_, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", os.Args[2], 0)
		fmt.Println("found:", err == nil)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// start runs script under sh in a sandbox and returns its output and
// status; it skips the test where the sandbox is unavailable.
func start(t testing.TB, cfg Config, script string, args ...string) (string, int) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Path, cfg.Args = sh, append([]string{"sh", "-c", script}, args...)
	cfg.Env = append(os.Environ(), "LC_ALL=C")
	cfg.Stdout, cfg.Stderr = out, out
	p, err := Start(cfg)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no sandbox here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	code := p.Wait()
	b, _ := os.ReadFile(out.Name())
	return string(b), code
}

// echoServer answers each connection with "outside\n" then what it reads.
func echoServer(t testing.TB, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("outside\n"))
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestRelayOnlyRoute(t *testing.T) {
	relayed := echoServer(t, "127.0.0.1:0")
	other := echoServer(t, "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(relayed)
	_, otherPort, _ := net.SplitHostPort(other)
	// bash's /dev/tcp would be simpler; sh has none, so use the shell of
	// whatever is there: python3 if present, else skip.
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	script := `"$0" - "$1" "$2" <<'PY'
import socket, sys
def get(port):
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        s.sendall(b"ping\n"); s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            d = s.recv(100)
            if not d: break
            data += d
        return data.decode().replace("\n", "|")
    except OSError as e:
        return type(e).__name__
print(get(sys.argv[1]), get(sys.argv[2]))
PY`
	out, code := start(t, Config{Relays: []Relay{{Listen: "127.0.0.1:" + port, Dial: relayed}}}, script, py, port, otherPort)
	if code != 0 || out != "outside|ping| ConnectionRefusedError\n" {
		t.Fatalf("inside: relayed port and another host port: %q (exit %d), want the relayed answer and a refusal", out, code)
	}
}

func TestHideAndStatus(t *testing.T) {
	dir := t.TempDir()
	secretDir := filepath.Join(dir, "data")
	if err := os.Mkdir(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secretDir, "session.json"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sock")
	if err := os.WriteFile(file, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(secretDir, link); err != nil {
		t.Fatal(err)
	}
	visible := filepath.Join(dir, "visible")
	if err := os.WriteFile(visible, []byte("seen"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The data dir is hidden through a symbolic link to it.
	out, code := start(t, Config{Hide: []string{link, file, filepath.Join(dir, "missing")}},
		`ls -A "$0"; cat "$1"; cat "$2"; echo; exit 42`, secretDir, file, visible)
	if code != 42 || out != "seen\n" {
		t.Fatalf("hidden paths: %q (exit %d), want only the visible file's content and exit 42", out, code)
	}
	if _, code := start(t, Config{}, `kill -KILL $$`); code != 137 {
		t.Errorf("a program killed by SIGKILL: status %d, want 137", code)
	}
}

func TestProgramNotFound(t *testing.T) {
	p, err := Start(Config{Path: "/nonexistent/agent", Args: []string{"agent"}, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no sandbox here: %v", err)
	}
	if err == nil {
		p.Wait()
		t.Fatal("a missing program started")
	}
	if !strings.Contains(err.Error(), "/nonexistent/agent") {
		t.Errorf("error %q does not name the program", err)
	}
}

// BenchmarkStart compares starting /bin/true in the sandbox with starting
// it plainly (the two sub-benchmarks, run together, give the ratio).
func BenchmarkStart(b *testing.B) {
	tru, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true")
	}
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command(tru).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sandbox", func(b *testing.B) {
		for b.Loop() {
			p, err := Start(Config{Path: tru, Args: []string{"true"}, Hide: []string{b.TempDir()},
				Relays: []Relay{{Listen: "127.0.0.1:14322", Dial: "127.0.0.1:1"}}})
			if err != nil {
				b.Skip(err)
			}
			if p.Wait() != 0 {
				b.Fatal("true failed")
			}
		}
	})
}

// TestSessionKeyring: a key in the caller's session keyring (Kerberos
// tickets, say) is out of the program's reach.
func TestSessionKeyring(t *testing.T) {
	// A session keyring made here is the calling thread's: keep to it, so
	// that the children below start from it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name := fmt.Sprintf("sb-test-%d", os.Getpid())
	id, err := unix.AddKey("user", name, []byte("a secret"), unix.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		t.Skipf("no session keyring here: %v", err)
	}
	t.Cleanup(func() { _, _ = unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_SESSION_KEYRING, 0, 0) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := exec.Command(self, keyringProbe, name).Output()
	if err != nil || string(plain) != "found: true\n" {
		t.Fatalf("the control: a plain child does not find the key (%q, %v), so the test proves nothing", plain, err)
	}
	out, code := start(t, Config{}, `"$0" "$1" "$2"`, self, keyringProbe, name)
	if code != 0 || out != "found: false\n" {
		t.Errorf("in the sandbox: %q (exit %d), want the key out of reach", out, code)
	}
}

// TestTerminalInjection: the program cannot push input into its terminal
// (which, under run, your shell reads next).
func TestTerminalInjection(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := exec.Command(self, tiocstiProbe).Output()
	if err != nil {
		t.Fatal(err)
	}
	switch string(plain) {
	case "TIOCSTI: injected\n":
	case "TIOCSTI: input/output error\n":
		t.Log("the kernel already refuses TIOCSTI (dev.tty.legacy_tiocsti=0): the control cannot show the attack")
	default:
		t.Fatalf("the control probe: %q", plain)
	}
	out, code := start(t, Config{}, `"$0" "$1"`, self, tiocstiProbe)
	if code != 0 || out != "TIOCSTI: operation not permitted\n" {
		t.Errorf("in the sandbox: %q (exit %d), want TIOCSTI refused with EPERM", out, code)
	}
}

// TestTerminalFilterShape: every jump of the filter lands inside it, and
// the last two instructions are the allow and the refusal.
func TestTerminalFilterShape(t *testing.T) {
	arches, ok := filterArches()
	if !ok {
		t.Skip("no filter on this architecture")
	}
	p := terminalFilter(arches)
	for i, ins := range p {
		if ins.Code&0x07 == unix.BPF_JMP && (i+1+int(ins.Jt) >= len(p) || i+1+int(ins.Jf) >= len(p)) {
			t.Errorf("instruction %d jumps out of the program", i)
		}
	}
	if p[len(p)-2].K != unix.SECCOMP_RET_ALLOW || p[len(p)-1].K != unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM) {
		t.Errorf("the filter does not end in allow, refuse")
	}
}

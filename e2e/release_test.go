package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReleaseArchive runs scripts/release.sh --check for this machine's
// linux target: it builds twice (the second time reusing the build cache,
// so this checks linking and packing; a release's own --check compiles
// again from nothing) and fails unless the bytes match. The
// archive's entries are sorted, owned by 0:0, all stamped with one time
// and gzipped without a time; SHA256SUMS holds its digest; the binary in
// it is static and names its version.
func TestReleaseArchive(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("SKIP: the release script runs on linux")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("scripts/release.sh", "--check")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TARGETS=linux/"+runtime.GOARCH, "OUT="+out, "RELEASE_CHECK_SHARED_CACHE=1", "VERSION=v0.0.0-release-test")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/release.sh --check: %v\n%s", err, b)
	}
	mustContain(t, "release.sh --check", string(b), "reproducible: two builds gave the same bytes")
	name := "agent-vault-v0.0.0-release-test-linux-" + runtime.GOARCH
	archive := filepath.Join(out, name+".tar.gz")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if sums := readAll(t, filepath.Join(out, "SHA256SUMS")); sums != hex.EncodeToString(sum[:])+"  "+name+".tar.gz\n" {
		t.Errorf("SHA256SUMS = %q, want the archive's digest", sums)
	}
	// gzip header: no modification time, no file name.
	if data[4]|data[5]|data[6]|data[7] != 0 || data[3]&0x08 != 0 {
		t.Errorf("the gzip header carries a time or a name: % x", data[:10])
	}
	zr, err := gzip.NewReader(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var bin []byte
	var first int64 // every entry carries the commit's time
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" && h.Uname != "root" {
			t.Errorf("%s is owned by %d:%d (%s)", h.Name, h.Uid, h.Gid, h.Uname)
		}
		if first == 0 {
			first = h.ModTime.Unix()
		} else if h.ModTime.Unix() != first {
			t.Errorf("%s has its own time %v", h.Name, h.ModTime)
		}
		if h.Name == name+"/agent-vault" {
			if bin, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
			if h.Mode&0o111 == 0 {
				t.Errorf("the binary is not executable: %o", h.Mode)
			}
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries are not sorted: %v", names)
	}
	for _, want := range []string{name + "/agent-vault", name + "/README.md", name + "/deploy/systemd/agent-vault.service", name + "/docs/self-hosting.md"} {
		if !containsName(names, want) {
			t.Errorf("the archive lacks %s: %v", want, names)
		}
	}
	exe := filepath.Join(t.TempDir(), "agent-vault")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	v, err := runJustWritten(exe, "version")
	if err != nil || !strings.Contains(string(v), "v0.0.0-release-test") {
		t.Errorf("the archived binary's version: %v %s", err, v)
	}
	if f, err := exec.Command("file", exe).Output(); err == nil && !strings.Contains(string(f), "statically linked") {
		t.Errorf("the archived binary is not static: %s", f)
	}
	t.Logf("%s: %d bytes, binary %d bytes", filepath.Base(archive), len(data), len(bin))
}

func containsName(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// runJustWritten runs a binary this process has just written (see
// retryTextBusy).
func runJustWritten(exe string, args ...string) ([]byte, error) {
	return retryTextBusy(func() *exec.Cmd { return exec.Command(exe, args...) })
}

// retryTextBusy runs the command mk makes, again while it fails with
// "text file busy": a parallel test forking at the moment a file this
// process wrote was open for writing holds a copy of that descriptor until
// its exec, and the kernel refuses to run a file open for writing
// (go.dev/issue/22315). That passes in a moment; the refusal comes as
// ETXTBSY from exec, or as the message of a command that ran the file.
func retryTextBusy(mk func() *exec.Cmd) ([]byte, error) {
	for try := 0; ; try++ {
		out, err := mk().CombinedOutput()
		busy := errors.Is(err, syscall.ETXTBSY) || err != nil && strings.Contains(string(out), "ext file busy")
		if !busy || try == 50 {
			return out, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

//go:build bench

package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// child is this program re-executed in one of its serving roles (the
// upstream, the TLS relay, the hold process), so that the role's CPU time
// and memory are a process of their own, as they would be in real use. The
// child prints "listening ADDR" once it accepts connections and serves
// until its standard input closes: when the parent exits, however it
// exits, the child follows.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	addr  string // what the child printed after "listening "
}

// startChild runs this program with args and waits for its address.
func startChild(role string, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		c.close()
		return nil, fmt.Errorf("the %s process did not start: %q %v", role, line, err)
	}
	c.addr = addr
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// close ends the child: its standard input closes, and it is killed if it
// has not exited 5 s later.
func (c *child) close() {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// serveUntilParentGoes is the child's side: it announces addr and blocks
// until standard input closes.
func serveUntilParentGoes(addr string) {
	fmt.Println("listening " + addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// newTestCA makes a fresh CA with the broker's own CA code and a leaf of
// it for host, so that a bench server's handshake costs what the broker's
// does; it returns the leaf and the CA certificate as PEM.
func newTestCA(host string) (*tls.Certificate, []byte, error) {
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		return nil, nil, err
	}
	root, _, err := ca.NewRoot(kr, time.Now().UTC())
	if err != nil {
		return nil, nil, err
	}
	minter, err := ca.NewMinter(root, ca.MinterOptions{})
	if err != nil {
		return nil, nil, err
	}
	leaf, err := minter.Leaf(host)
	if err != nil {
		return nil, nil, err
	}
	return leaf, root.CertPEM(), nil
}

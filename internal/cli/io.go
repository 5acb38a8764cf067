package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// clientConfig resolves the server address and data dir.
func (a *app) clientConfig() (config.Client, error) {
	return config.LoadClient(config.ClientFlags{Address: a.address, DataDir: a.dataDir}, nil)
}

// anon is a client without a session.
func (a *app) anon() (*client.Client, config.Client, error) {
	cfg, err := a.clientConfig()
	if err != nil {
		return nil, cfg, err
	}
	return client.New(client.Options{BaseURL: cfg.Address}), cfg, nil
}

// authed is a client with the agent's token when AGENT_VAULT_TOKEN is
// set (never falling back to a saved login), else the saved CLI session.
func (a *app) authed() (*client.Client, config.Client, error) {
	cfg, err := a.clientConfig()
	if err != nil {
		return nil, cfg, err
	}
	if tok := agentToken(); tok != "" {
		return client.New(client.Options{BaseURL: cfg.Address, Token: tok}), cfg, nil
	}
	s, err := config.ReadSession(cfg.DataDir)
	if errors.Is(err, config.ErrNoSession) && needsFirstUser(cfg.Address) {
		return nil, cfg, errNoAccountYet
	}
	if err != nil {
		return nil, cfg, err
	}
	return client.New(client.Options{BaseURL: cfg.Address, Token: s.Token}), cfg, nil
}

// errNoAccountYet is the hint on a server where no one has registered.
var errNoAccountYet = errors.New("this server has no account yet: create the first one (the instance owner) with `agent-vault auth register`")

// needsFirstUser reports whether the server at addr answers that no account
// exists yet; false when it cannot be asked.
func needsFirstUser(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := client.New(client.Options{BaseURL: addr}).Status(ctx)
	return err == nil && st.NeedsFirstUser
}

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// show prints v as JSON with --json, else the human line(s) from human.
func (a *app) show(v any, human func(w io.Writer)) error {
	if a.json {
		return a.printJSON(v)
	}
	human(a.out)
	return nil
}

// table prints rows under a header, aligned; every cell goes through
// cell (sanitize.go), so no text from the server reaches the terminal raw.
func (a *app) table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cells(header), "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(cells(r), "\t"))
	}
	_ = tw.Flush()
}

// stdinReader is shared so that several reads from a pipe see consecutive lines.
var stdinReader *bufio.Reader

func (a *app) line() (string, error) {
	if stdinReader == nil {
		stdinReader = bufio.NewReader(a.in)
	}
	s, err := stdinReader.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("expected a line on standard input, got end of input")
		}
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// stdinIsTTY reports whether prompts can be shown.
func (a *app) stdinIsTTY() bool {
	f, ok := a.in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readSecret reads a secret: a hidden prompt on a terminal (asked twice
// when confirm is set), else one line of standard input.
func (a *app) readSecret(prompt string, confirm bool) (string, error) {
	if !a.stdinIsTTY() {
		return a.line()
	}
	fd := int(a.in.(*os.File).Fd())
	fmt.Fprint(a.errOut, prompt+": ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(a.errOut)
	if err != nil {
		return "", err
	}
	if confirm {
		fmt.Fprint(a.errOut, "Repeat to confirm: ")
		c, err := term.ReadPassword(fd)
		fmt.Fprintln(a.errOut)
		if err != nil {
			return "", err
		}
		if string(c) != string(b) {
			return "", errors.New("the two entries differ: nothing was changed; try again")
		}
	}
	return string(b), nil
}

// readValue returns flag when set, else asks on a terminal, else reads a line.
func (a *app) readValue(flag, prompt string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if a.stdinIsTTY() {
		fmt.Fprint(a.errOut, prompt+": ")
	}
	return a.line()
}

// printJSONLine writes v as one line of JSON (for streams).
func (a *app) printJSONLine(v any) error {
	return json.NewEncoder(a.out).Encode(v)
}

//go:build bench

// Command startup measures how long agent-vault takes to start and how
// much `agent-vault run` adds before the agent's command starts:
//
//   - server start: from starting the process to both listeners (the
//     control plane and the broker proxy) accepting TCP connections,
//     passwordless and with a master password (one Argon2id run to unlock),
//     on a fresh data dir (first run: schema, keys, CA) and on an existing
//     one (a restart), with the resident memory once ready;
//   - run overhead: from starting `agent-vault run -- date +%s%N` to the
//     time date prints, minus the same for `date` started directly, with
//     the sandbox off and required (when this machine allows it).
//
// Each figure is the median of -n runs, with the spread (min–max), since
// the machine is shared.
//
//	go run -tags bench ./bench/startup -bin /path/to/agent-vault [-n 15]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	binList := flag.String("bin", "", "agent-vault binary (required); several, comma-separated, are measured alternately in the same run and compared with the first")
	n := flag.Int("n", 15, "runs per figure (the median is reported)")
	flag.Parse()
	if *binList == "" {
		fmt.Fprintln(os.Stderr, "-bin is required")
		os.Exit(2)
	}
	bins := strings.Split(*binList, ",")
	tmp, err := os.MkdirTemp("", "startup")
	check(err)
	defer os.RemoveAll(tmp)

	// fig is one figure per binary: times, and RSS (kB) where measured.
	type fig struct {
		name string
		ds   [][]time.Duration
		rss  [][]time.Duration
	}
	newFig := func(name string) *fig {
		return &fig{name: name, ds: make([][]time.Duration, len(bins)), rss: make([][]time.Duration, len(bins))}
	}
	var figs []*fig
	for _, mp := range []string{"", "bench-master-password"} {
		mode := "passwordless"
		if mp != "" {
			mode = "master password"
		}
		first := newFig("server start to both listeners ready, " + mode + ", fresh data dir")
		again := newFig("server start to both listeners ready, " + mode + ", restart")
		for i := 0; i < *n; i++ {
			for b, bin := range bins {
				dir := filepath.Join(tmp, fmt.Sprintf("s%d-%d", i, b))
				d, rss := startStop(bin, dir, mp, nil)
				first.ds[b], first.rss[b] = append(first.ds[b], d), append(first.rss[b], time.Duration(rss))
				d, rss = startStop(bin, dir, mp, nil)
				again.ds[b], again.rss[b] = append(again.ds[b], d), append(again.rss[b], time.Duration(rss))
				check(os.RemoveAll(dir))
			}
		}
		figs = append(figs, first, again)
	}

	// run: a passwordless server (the first binary) with a logged-in owner;
	// each binary's CLI in turn.
	dir := filepath.Join(tmp, "run")
	srv := start(bins[0], dir, "")
	defer srv.stop()
	cliDir := filepath.Join(dir, "cli")
	cli := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bins[0], append([]string{"--address", srv.url, "--data-dir", cliDir}, args...)...)
		cmd.Env = env(dir, "")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cli("bench-password-1234\n", "auth", "register", "--email", "owner@example.com"); err != nil {
		fmt.Fprintln(os.Stderr, out)
		check(err)
	}
	date, err := exec.LookPath("date")
	check(err)
	direct := childStart(dir, date)
	modes := []string{"--no-sandbox"}
	if out, err := cli("", "run", "--sandbox=required", "--", "true"); err == nil {
		modes = append(modes, "--sandbox=required")
	} else {
		fmt.Fprintf(os.Stderr, "the sandbox is not available here: %s\n", strings.TrimSpace(out))
	}
	base := newFig("`date` started directly (subtracted below)")
	runFigs := map[string]*fig{}
	for _, m := range modes {
		runFigs[m] = newFig("run overhead, " + m + ": command start to child start")
	}
	for i := 0; i < *n; i++ {
		for b, bin := range bins {
			d0 := direct(nil)
			base.ds[b] = append(base.ds[b], d0)
			for _, m := range modes {
				d := direct([]string{bin, "--address", srv.url, "--data-dir", cliDir, "run", m, "--", date})
				runFigs[m].ds[b] = append(runFigs[m].ds[b], d-d0)
			}
		}
	}
	figs = append(figs, base)
	for _, m := range modes {
		figs = append(figs, runFigs[m])
	}

	fmt.Println("## Start-up and run overhead")
	fmt.Println()
	fmt.Printf("Median of %d runs (min–max in brackets); the binaries alternate run by run.\n\n", *n)
	head, sep := "| what |", "|---|"
	for b, bin := range bins {
		head += fmt.Sprintf(" %s | VmRSS when ready |", filepath.Base(bin))
		sep += "---:|---:|"
		if b > 0 {
			head += " ÷ first |"
			sep += "---:|"
		}
	}
	fmt.Println(head)
	fmt.Println(sep)
	for _, f := range figs {
		line := "| " + f.name + " |"
		for b := range bins {
			lo, hi := spread(f.ds[b])
			line += fmt.Sprintf(" %s (%s–%s) |", ms(median(f.ds[b])), ms(lo), ms(hi))
			if len(f.rss[b]) > 0 {
				line += fmt.Sprintf(" %.1f MB |", float64(median(f.rss[b]))/1024)
			} else {
				line += " |"
			}
			if b > 0 {
				line += fmt.Sprintf(" %.2f× |", float64(median(f.ds[b]))/float64(median(f.ds[0])))
			}
		}
		fmt.Println(line)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func spread(ds []time.Duration) (lo, hi time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[0], s[len(s)-1]
}

// childStart returns a function that starts argv followed by date (or
// date alone), and returns the time from starting it to date's reading
// of the clock.
func childStart(dir, date string) func(argv []string) time.Duration {
	return func(argv []string) time.Duration {
		if argv == nil {
			argv = []string{date}
		}
		argv = append(argv, "+%s%N")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env(dir, "")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, strings.Join(argv, " "), err, errOut.String())
			os.Exit(1)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
		check(err)
		return time.Unix(0, ns).Sub(t0)
	}
}

type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// start starts the server and waits until both listeners accept.
func start(bin, dir, mp string) *server {
	s, _, _ := startTimed(bin, dir, mp, nil)
	return s
}

// startStop starts the server, measures the time until both listeners
// accept and the RSS then (kB), and stops it.
func startStop(bin, dir, mp string, extra []string) (time.Duration, int64) {
	s, d, rss := startTimed(bin, dir, mp, extra)
	s.stop()
	return d, rss
}

func startTimed(bin, dir, mp string, extra []string) (*server, time.Duration, int64) {
	check(os.MkdirAll(dir, 0o700))
	port, mitm := freePort(), freePort()
	cmd := exec.Command(bin, "server", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--mitm-port", strconv.Itoa(mitm),
		"--data-dir", filepath.Join(dir, "data"))
	cmd.Env = append(env(dir, mp), extra...)
	logf, err := os.OpenFile(filepath.Join(dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	check(err)
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	t0 := time.Now()
	check(cmd.Start())
	s := &server{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	ready := func(p int) bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	upC, upP := false, false
	for !upC || !upP {
		select {
		case <-s.done:
			b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			fmt.Fprintf(os.Stderr, "the server exited:\n%s\n", b)
			os.Exit(1)
		default:
		}
		if time.Since(t0) > time.Minute {
			fmt.Fprintln(os.Stderr, "the server did not start within a minute")
			os.Exit(1)
		}
		upC = upC || ready(port)
		upP = upP || ready(mitm)
		if !upC || !upP {
			time.Sleep(500 * time.Microsecond)
		}
	}
	d := time.Since(t0)
	// The control plane answers too (not just accepts).
	resp, err := http.Get(s.url + "/health")
	check(err)
	resp.Body.Close()
	return s, d, rss(cmd.Process.Pid)
}

func env(dir, mp string) []string {
	var e []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AGENT_VAULT_") || k == "HOME" || strings.EqualFold(k, "HTTP_PROXY") || strings.EqualFold(k, "HTTPS_PROXY") {
			continue
		}
		e = append(e, kv)
	}
	// The server takes the first account's setup code from the
	// environment, and `auth register` sends it from there.
	e = append(e, "HOME="+dir, "AGENT_VAULT_RATELIMIT_PROFILE=off", "AGENT_VAULT_SETUP_CODE=bench-setup-code-0123456789")
	if mp != "" {
		e = append(e, "AGENT_VAULT_MASTER_PASSWORD="+mp)
	}
	return e
}

// rss is the process's VmRSS in kB.
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return 0
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

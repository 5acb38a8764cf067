//go:build bench

// Command bench measures the broker proxy of the real agent-vault binary
// against direct-to-upstream traffic (docs/performance.md).
//
// It builds ./cmd/agent-vault, starts it on free loopback ports in a
// temporary data dir with the broker proxy enabled, registers an owner,
// creates an agent token, stores a credential and a bearer service for an
// HTTPS upstream that this program serves on 127.0.0.1 with its own CA
// (HTTP/1.1 and HTTP/2), and then runs every scenario once direct and once
// through the proxy, three times, reporting medians and ratios to direct as
// a Markdown table.
//
// The build tag keeps it out of `go build ./...`, `go vet ./...` and
// `go test ./...`; run it with
//
//	go run -tags bench ./bench            (or: bash bench/run.sh)
//
// Nothing leaves the loopback interface.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type options struct {
	duration  time.Duration // length of one measured run of a timed scenario
	warmup    time.Duration // unmeasured traffic before each run
	runs      int           // runs per scenario and side; medians are reported
	bin       string        // prebuilt agent-vault binary; empty: go build
	only      string        // comma-separated scenario ids to run (a,b1,b2,c,d,d2,e,f)
	keep      bool          // keep the temp dir (server log, data dir)
	inproc    bool          // serve the upstream from this process
	h1only    bool          // the upstream offers HTTP/1.1 only
	quietWait time.Duration // wait this long at most for an idle machine before each run
	serverEnv envList       // extra environment for the server, e.g. GOGC=200
	relay     bool          // also run every scenario through a blind tunnel (the floor of any proxy hop)
	tlsRelay  bool          // and through a minimal TLS-terminating relay (the floor of a proxy that reads requests)
	perfDir   string        // record `perf` profiles of the server during the c=32 runs here
	verbose   bool          // print every run's figures too
	idle      int           // measure RSS per idle blind tunnel with this many open (bench/idle.go)
	idleMITM  int           // and per idle intercepted connection with this many
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "length of one measured run of a timed scenario")
	flag.DurationVar(&o.warmup, "warmup", 300*time.Millisecond, "unmeasured traffic before each run")
	flag.IntVar(&o.runs, "runs", 3, "runs per scenario and side (the median is reported)")
	flag.StringVar(&o.bin, "bin", "", "use this agent-vault binary instead of building ./cmd/agent-vault")
	flag.StringVar(&o.only, "only", "", "run only these scenarios (comma-separated: a,b1,b2,c,d,d2,e,f)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (server log and data dir)")
	flag.BoolVar(&o.verbose, "v", false, "also print the figures of every run")
	flag.DurationVar(&o.quietWait, "quiet-wait", 60*time.Second, "before each run, wait at most this long for other processes to leave the CPUs idle (0: do not wait)")
	flag.BoolVar(&o.relay, "relay", false, "also run every scenario through a blind tunnel of the same server (bytes copied, no TLS termination): the cheapest hop a proxy can add, reported as the floor under each ratio")
	flag.BoolVar(&o.tlsRelay, "tls-relay", false, "also run every scenario through a minimal relay in its own process that terminates TLS on both legs and copies the plaintext, nothing more (bench/tlsrelay.go): the floor under what a proxy that reads the agent's requests can reach")
	serveTLSRelay := flag.String("serve-tlsrelay", "", "internal: serve the TLS relay, writing its CA to this file")
	tlsRelayUpstreamCA := flag.String("tlsrelay-upstream-ca", "", "internal: the upstream CA the TLS relay trusts")
	flag.StringVar(&o.perfDir, "perf", "", "record a CPU profile with Linux perf of the server (and of the TLS relay) during every proxied (and TLS-relay) run, into this directory")
	flag.Var(&o.serverEnv, "server-env", "extra KEY=VALUE in the server's environment, e.g. GOGC=200 (repeatable)")
	upstreamMode := flag.String("upstream", "process", "where the upstream runs: process (a child process) or inproc (this process)")
	serveUpstream := flag.String("serve-upstream", "", "internal: serve the upstream, writing its CA to this file")
	flag.BoolVar(&o.h1only, "upstream-h1only", false, "the upstream offers HTTP/1.1 only, so the proxy's upstream leg is HTTP/1.1 too (skips the HTTP/2 scenarios)")
	flag.IntVar(&o.idle, "idle", 0, "instead of the scenarios: open this many idle blind tunnels and report the server's RSS per tunnel (with -idle-mitm)")
	flag.IntVar(&o.idleMITM, "idle-mitm", 0, "instead of the scenarios: open this many idle intercepted connections (one request each) and report RSS per connection")
	serveHold := flag.Bool("serve-hold", false, "internal: accept blind-tunnel targets on 127.0.0.2 and keep them open")
	flag.Parse()
	if *serveHold {
		if err := serveHoldChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bench hold:", err)
			os.Exit(1)
		}
		return
	}
	if *serveTLSRelay != "" {
		if err := serveTLSRelayChild(*serveTLSRelay, *tlsRelayUpstreamCA); err != nil {
			fmt.Fprintln(os.Stderr, "bench TLS relay:", err)
			os.Exit(1)
		}
		return
	}
	if o.idle > 0 || o.idleMITM > 0 {
		// The default caps (8192 connections, 1024 per address) would
		// refuse most of them: every client here is 127.0.0.1.
		o.serverEnv = append(envList{"AGENT_VAULT_PROXY_MAX_CONNS=100000", "AGENT_VAULT_PROXY_MAX_CONNS_PER_IP=100000"}, o.serverEnv...)
	}
	if *serveUpstream != "" {
		if err := serveUpstreamChild(*serveUpstream, o.h1only); err != nil {
			fmt.Fprintln(os.Stderr, "bench upstream:", err)
			os.Exit(1)
		}
		return
	}
	switch *upstreamMode {
	case "process":
	case "inproc":
		o.inproc = true
	default:
		fmt.Fprintln(os.Stderr, "bench: -upstream is process or inproc")
		os.Exit(2)
	}
	if o.runs < 1 {
		o.runs = 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "agent-vault-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	up, err := startUpstream(o.inproc, o.h1only, tmp)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	defer up.close()
	logf("upstream https://%s (HTTP/1.1 and HTTP/2, own CA, pid %d)", up.addr, up.pid())

	if o.idle > 0 || o.idleMITM > 0 {
		start := func(name string) (*server, error) {
			dir := filepath.Join(tmp, name)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			srv, err := startServer(ctx, o, dir, up)
			if err == nil && o.bin == "" {
				o.bin = srv.bin // build once
			}
			return srv, err
		}
		res, err := runIdle(ctx, o, up, start)
		if err != nil {
			return err
		}
		printIdleReport(os.Stdout, machineInfo(), res)
		return nil
	}
	srv, err := startServer(ctx, o, tmp, up)
	if err != nil {
		return err
	}
	defer srv.stop()
	logf("agent-vault pid %d: control plane %s, broker proxy %s", srv.pid(), srv.controlURL, srv.proxyAddr)

	h := &harness{o: o, up: up, srv: srv}
	if o.tlsRelay {
		if h.relay, err = startTLSRelay(tmp, up); err != nil {
			return fmt.Errorf("TLS relay: %w", err)
		}
		defer h.relay.close()
		logf("TLS relay pid %d on %s", h.relay.pid(), h.relay.addr)
	}
	if err := h.sanityCheck(ctx); err != nil {
		return err
	}
	start := time.Now()
	res, err := h.runAll(ctx)
	if err != nil {
		return err
	}
	logf("measured in %s", time.Since(start).Round(time.Second))
	refused, err := up.refused(up.pool)
	if err != nil {
		return fmt.Errorf("asking the upstream what it refused: %w", err)
	}
	printReport(os.Stdout, o, machineInfo(), res, refused)
	if refused > 0 {
		return fmt.Errorf("the upstream refused %d requests for a missing or wrong credential", refused)
	}
	return nil
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// machine describes where the figures were taken.
type machine struct {
	cpu     string
	cores   int
	goVer   string
	kernel  string
	started time.Time
}

func machineInfo() machine {
	m := machine{cpu: "unknown", cores: runtime.NumCPU(), goVer: runtime.Version(), started: time.Now().UTC()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}

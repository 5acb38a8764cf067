//go:build bench

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// metric is one figure a scenario reports.
type metric struct {
	key         string  // key in the scenario's samples
	label       string  // what it is
	unit        string  // how it prints
	lowerBetter bool    // latency-like
	target      float64 // ratio proxy ÷ direct that meets the target (docs/performance.md); 0: none
}

type scenario struct {
	id, title string
	run       func(ctx context.Context, s side) (sample, error)
	metrics   []metric
}

// results holds every run of every scenario.
type results struct {
	scenarios []scenario
	samples   map[string]map[side][]sample // scenario id → side → runs
	idleRSS   int64                        // kB, before the scenarios
	repeated  int                          // runs measured again: other processes disturbed them
	hwm       int64                        // kB, VmHWM after them
}

func (h *harness) scenarios() []scenario {
	lat := func(key, label string, target float64) metric {
		return metric{key: key, label: label, unit: "µs", lowerBetter: true, target: target}
	}
	all := []scenario{
		{"a", "small GET, kept alive, c=1, HTTP/1.1", h.smallC1, []metric{lat("p50", "p50 latency", 2.0), lat("p99", "p99 latency", 0)}},
		{"b1", "small GET, kept alive, c=32, HTTP/1.1", h.smallC32(false), []metric{{key: "rps", label: "req/s", unit: "req/s", target: 0.55}}},
		{"b2", "small GET, kept alive, c=32, HTTP/2", h.smallC32(true), []metric{{key: "rps", label: "req/s", unit: "req/s", target: 0.5}}},
		{"c", "new connection per request, c=8, HTTP/1.1", h.newConnC8, []metric{{key: "rps", label: "req/s", unit: "req/s", target: 0.9}, lat("p50", "p50 latency", 0)}},
		{"d", "10 MB download, HTTP/1.1", h.download(false), []metric{{key: "mbps", label: "throughput", unit: "MB/s", target: 0.6}}},
		{"d2", "10 MB download, HTTP/2 (extra)", h.download(true), []metric{{key: "mbps", label: "throughput", unit: "MB/s"}}},
		{"e", "websocket echo, 128 B, c=1", h.websocket, []metric{{key: "rtps", label: "round trips/s", unit: "/s", target: 0.6}, lat("p50", "p50 round trip", 0)}},
		{"a2", fmt.Sprintf("small GET, kept alive, c=1, HTTP/1.1, %s idle before each (extra)", sseGap), h.smallIdle, []metric{lat("p50", "p50 latency", 0)}},
		{"f", fmt.Sprintf("SSE, %d events %s apart, HTTP/1.1", sseEvents, sseGap), h.sse, []metric{lat("ttfe", "time to first event", 1.5), lat("delay", "per-event delay (median)", 0)}},
	}
	var out []scenario
	for _, s := range all {
		if h.o.h1only && (s.id == "b2" || s.id == "d2") {
			continue // HTTP/2 end to end needs an HTTP/2 upstream
		}
		if h.o.only == "" || slices.Contains(strings.Split(h.o.only, ","), s.id) {
			out = append(out, s)
		}
	}
	return out
}

// warmUp sends a second of proxied traffic over both protocols (leaf
// minted, grant cached, pools and runtime warm), then lets the server
// settle.
func (h *harness) warmUp(ctx context.Context) {
	for _, h2 := range []bool{false, true} {
		if h2 && h.o.h1only {
			continue
		}
		tr := h.transport(proxied, h2, true)
		c := &http.Client{Transport: tr}
		closedLoop(ctx, 8, 0, 500*time.Millisecond, false, func(ctx context.Context) error {
			_, err := h.get(ctx, c, proxied, "/small")
			return err
		})
		tr.CloseIdleConnections()
	}
	sleepCtx(ctx, time.Second)
}

// waitQuiet waits, up to -quiet-wait, until the machine is nearly idle
// (under 15% of one core busy over a quarter second): another job on the
// machine during a run skews it.
func (h *harness) waitQuiet(ctx context.Context) {
	if h.o.quietWait <= 0 {
		return
	}
	const window = 250 * time.Millisecond
	deadline := time.Now().Add(h.o.quietWait)
	for waited := false; ctx.Err() == nil; {
		_, b0, _ := cpuTicks()
		sleepCtx(ctx, window)
		_, b1, _ := cpuTicks()
		busy := float64(b1-b0) / window.Seconds() // % of one core
		if busy < 15 {
			return
		}
		if time.Now().After(deadline) {
			logf("the machine is still busy (%.0f%% of a core): measuring anyway", busy)
			return
		}
		if !waited {
			logf("the machine is busy (%.0f%% of a core): waiting up to %s", busy, h.o.quietWait)
			waited = true
		}
		sleepCtx(ctx, time.Second)
	}
}

// A run during which other processes used more than maxOtherCPU (% of one
// core; loopback softirq work counts there too, ~10%) is measured again,
// up to maxAttempts times in all.
const (
	maxOtherCPU = 30
	maxAttempts = 4
)

// sides are the sides every scenario runs on: direct and through the
// proxy, and with -relay through a blind tunnel too.
func (h *harness) sides() []side { return h.o.sides() }

func (o options) sides() []side {
	out := []side{direct, proxied}
	if o.relay {
		out = append(out, relayed)
	}
	if o.tlsRelay {
		out = append(out, terminated)
	}
	return out
}

// floors are the sides measured only as floors under the proxy's ratios.
func (o options) floors() []side {
	return slices.DeleteFunc(o.sides(), func(s side) bool { return s == direct || s == proxied })
}

// runAll runs each scenario runs times, alternating direct and proxied so
// that drift on the machine hits both sides alike.
func (h *harness) runAll(ctx context.Context) (*results, error) {
	res := &results{scenarios: h.scenarios(), samples: map[string]map[side][]sample{}}
	h.warmUp(ctx)
	res.idleRSS, _ = procStatus(h.srv.pid(), "VmRSS")
	for _, sc := range res.scenarios {
		res.samples[sc.id] = map[side][]sample{}
		for i := 0; i < h.o.runs; i++ {
			for _, s := range h.sides() {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				var smp sample
				for attempt := 1; ; attempt++ {
					h.waitQuiet(ctx)
					var err error
					if smp, err = h.measured(ctx, sc, s); err != nil {
						return nil, fmt.Errorf("%s (%s): %w", sc.title, s, err)
					}
					if smp["other_cpu_pct"] <= maxOtherCPU || attempt == maxAttempts {
						break
					}
					res.repeated++
					logf("%-3s run %d %-9s disturbed: other processes used %.0f%% of a core; repeating it", sc.id, i+1, s, smp["other_cpu_pct"])
				}
				res.samples[sc.id][s] = append(res.samples[sc.id][s], smp)
				logf("%-3s run %d %-9s %s", sc.id, i+1, s, fmtSample(smp))
			}
		}
	}
	res.hwm, _ = procStatus(h.srv.pid(), "VmHWM")
	return res, nil
}

// measured runs one scenario run while sampling the server's peak RSS and
// the CPU time of the server, the upstream and this process (the load
// generator, and the upstream too with -upstream inproc), in % of one core
// over the run's wall time, warm-up included.
func (h *harness) measured(ctx context.Context, sc scenario, s side) (sample, error) {
	hop := h.hopPID(s)
	if hop == 0 {
		hop = h.srv.pid() // idle on the direct side; its CPU shows that
	}
	rss := sampleRSS(hop)
	pids := map[string]int{"srv": hop, "gen": os.Getpid()}
	if h.up.pid() != os.Getpid() {
		pids["up"] = h.up.pid()
	}
	cpu0 := map[string]time.Duration{}
	for k, pid := range pids {
		cpu0[k], _ = procCPU(pid)
	}
	steal0, busy0, total0 := cpuTicks()
	var stopPerf func()
	if h.o.perfDir != "" && (s == proxied || s == terminated) {
		name := sc.id
		if s == terminated {
			name += "-tlsrelay"
		}
		stopPerf = h.startPerf(name, hop)
	}
	t0 := time.Now()
	smp, err := sc.run(ctx, s)
	wall := time.Since(t0)
	if stopPerf != nil {
		stopPerf()
	}
	peak := rss.finish()
	if err != nil {
		return nil, err
	}
	smp["srv_rss_mb"] = kBtoMB(float64(peak))
	steal1, busy1, total1 := cpuTicks()
	if total1 > total0 {
		smp["steal_pct"] = 100 * float64(steal1-steal0) / float64(total1-total0)
	}
	ours := 0.0
	for k, pid := range pids {
		c1, _ := procCPU(pid)
		smp[k+"_cpu_pct"] = 100 * (c1 - cpu0[k]).Seconds() / wall.Seconds()
		ours += smp[k+"_cpu_pct"]
	}
	// CPU used by everything else on the machine, % of one core (USER_HZ
	// is 100): other work here skews the figures.
	busy := float64(busy1-busy0) / wall.Seconds()
	smp["other_cpu_pct"] = max(0, busy-ours)
	return smp, nil
}

// startPerf records process pid with `perf record -g` until the returned
// function is called; the profile lands in -perf as perf-<id>-<n>.data.
func (h *harness) startPerf(id string, pid int) func() {
	if err := os.MkdirAll(h.o.perfDir, 0o755); err != nil {
		logf("perf: %v", err)
		return func() {}
	}
	var out string
	for n := 1; ; n++ {
		out = filepath.Join(h.o.perfDir, fmt.Sprintf("perf-%s-%d.data", id, n))
		if _, err := os.Stat(out); err != nil {
			break
		}
	}
	cmd := exec.Command("perf", "record", "-F", "999", "-g", "-p", strconv.Itoa(pid), "-o", out)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		logf("perf: %v", err)
		return func() {}
	}
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		logf("perf profile: %s (perf report -i %s --no-children --sort symbol)", out, out)
	}
}

// cpuTicks reads the all-CPU line of /proc/stat: steal ticks (time the
// hypervisor gave to someone else), busy ticks (not idle or iowait) and
// all ticks.
func cpuTicks() (steal, busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0
	}
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
		if i == 7 {
			steal = n
		}
	}
	return steal, busy, total
}

func fmtSample(s sample) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%.1f ", k, s[k])
	}
	return strings.TrimSpace(b.String())
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func values(runs []sample, key string) []float64 {
	var out []float64
	for _, r := range runs {
		if v, ok := r[key]; ok {
			out = append(out, v)
		}
	}
	return out
}

func fmtValue(v float64, unit string) string {
	switch {
	case unit == "µs" && v >= 10000:
		return fmt.Sprintf("%.1f ms", v/1000)
	case unit == "µs":
		return fmt.Sprintf("%.0f µs", v)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	default:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**MISSED**"
}

// cpuPerMBLimit bounds the proxy's CPU time per MB of a download, in ms.
const cpuPerMBLimit = 0.6

// rssLimitMB is the bound on the proxy's RSS during the c=32 runs (docs/performance.md).
const rssLimitMB = 50

func kBtoMB(kb float64) float64 { return kb * 1024 / 1e6 }

func printReport(w io.Writer, o options, m machine, res *results, refused int64) {
	fmt.Fprintf(w, "## Broker proxy vs direct (%s)\n\n", m.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s, %d cores, %s, %s; agent-vault %s.  \n", m.cpu, m.cores, m.kernel, m.goVer, gitRevision())
	upDesc := "HTTP/1.1 and HTTP/2"
	if o.h1only {
		upDesc = "HTTP/1.1 only, so the proxy's upstream leg is HTTP/1.1"
	}
	where := "its own process"
	if o.inproc {
		where = "the load generator's process"
	}
	fmt.Fprintf(w, "Upstream: 127.0.0.1, own CA, %s, in %s.  \n", upDesc, where)
	if len(o.serverEnv) > 0 {
		fmt.Fprintf(w, "Server environment: %s.  \n", o.serverEnv.String())
	}
	fmt.Fprintln(w, "Response redaction: on for the bench service (checked before the runs: an echoed credential came back as the placeholder).  ")
	fmt.Fprintf(w, "Load generator, upstream and proxy on loopback. Medians of %d runs per side, each %s after %s of warm-up, direct and proxied runs alternating. Ratio = via proxy ÷ direct.\n\n",
		o.runs, o.duration, o.warmup)
	if o.relay {
		fmt.Fprint(w, "\"Via tunnel\": the same server in a blind tunnel (CONNECT to a host no service matches): it copies the agent's own TLS bytes, terminates nothing and injects nothing. No proxy can add less than that hop, so \"tunnel ÷ direct\" is the floor under each ratio on this machine.\n\n")
	}
	if o.tlsRelay {
		fmt.Fprint(w, "\"Via TLS relay\": a minimal relay in its own process (bench/tlsrelay.go) that terminates the agent's TLS with its own CA, opens one TLS connection upstream per agent connection and copies the plaintext both ways: no HTTP parsing, no checks, no injection, no pooling. A proxy that must read the agent's requests cannot do less, so \"TLS relay ÷ direct\" is the floor under each ratio for such a proxy (except on new connections, where the relay dials upstream each time and the broker reuses pooled connections).\n\n")
	}
	head, rule, tunnel := "| | scenario | metric | direct | via proxy | ratio | target | |", "|---|---|---|---:|---:|---:|---|---|", ""
	for _, f := range o.floors() {
		if f == relayed {
			head += " via tunnel | tunnel ÷ direct (floor) |"
		} else {
			head += " via TLS relay | TLS relay ÷ direct (TLS floor) |"
		}
		rule += "---:|---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for _, sc := range res.scenarios {
		d, p := res.samples[sc.id][direct], res.samples[sc.id][proxied]
		for _, mt := range sc.metrics {
			md, mp := median(values(d, mt.key)), median(values(p, mt.key))
			ratio := mp / md
			tunnel = ""
			for _, f := range o.floors() {
				mr := median(values(res.samples[sc.id][f], mt.key))
				tunnel += fmt.Sprintf(" %s | %.2f× |", fmtValue(mr, mt.unit), mr/md)
			}
			target, result := "—", ""
			if mt.target > 0 {
				if mt.lowerBetter {
					target = fmt.Sprintf("≤ %.2g×", mt.target)
					result = verdict(ratio <= mt.target)
				} else {
					target = fmt.Sprintf("≥ %.2g×", mt.target)
					result = verdict(ratio >= mt.target)
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.2f× | %s | %s |%s\n", sc.id, sc.title, mt.label, fmtValue(md, mt.unit), fmtValue(mp, mt.unit), ratio, target, result, tunnel)
		}
		if sc.id == "d" {
			cpu := median(values(p, "srv_cpu_ms_per_mb"))
			tunnel = ""
			for _, f := range o.floors() {
				tunnel += fmt.Sprintf(" %.2f ms | |", median(values(res.samples[sc.id][f], "srv_cpu_ms_per_mb")))
			}
			fmt.Fprintf(w, "| d | %s | proxy CPU per MB (median) | — | %.2f ms | — | ≤ %.2g ms | %s |%s\n", sc.title, cpu, cpuPerMBLimit, verdict(cpu <= cpuPerMBLimit), tunnel)
		}
		if sc.id == "f" {
			worst := slices.Max(values(p, "delay_max"))
			worstD := slices.Max(values(d, "delay_max"))
			fmt.Fprintf(w, "| f | %s | no buffering: worst event delay, all runs | %s | %s | | < %s gap | %s |%s\n",
				sc.title, fmtValue(worstD, "µs"), fmtValue(worst, "µs"), sseGap, verdict(worst < float64(sseGap/time.Microsecond)), strings.Repeat(" | |", len(o.floors())))
		}
	}
	var rss []float64
	for _, id := range []string{"b1", "b2"} {
		if r, ok := res.samples[id]; ok {
			rss = append(rss, values(r[proxied], "srv_rss_mb")...)
		}
	}
	if len(rss) > 0 {
		peak := slices.Max(rss)
		fmt.Fprintf(w, "| g | proxy RSS during the c=32 runs | peak VmRSS (max of %d runs) | — | %.1f MB | — | ≤ %d MB | %s |\n",
			len(rss), peak, rssLimitMB, verdict(peak <= rssLimitMB))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Where the CPU went (medians, % of one core over each run; the machine has", m.cores, "cores) and the server's peak RSS per scenario:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| | scenario | side | load generator | upstream | agent-vault server | other (incl. softirq) | server peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|")
	for _, sc := range res.scenarios {
		for _, s := range o.sides() {
			r := res.samples[sc.id][s]
			up := "in load generator"
			if v := values(r, "up_cpu_pct"); len(v) > 0 {
				up = fmt.Sprintf("%.0f%%", median(v))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.0f%% | %s | %.0f%% | %.0f%% | %.1f MB |\n", sc.id, sc.title, s,
				median(values(r, "gen_cpu_pct")), up, median(values(r, "srv_cpu_pct")), median(values(r, "other_cpu_pct")), median(values(r, "srv_rss_mb")))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- server VmRSS after setup and a warm-up, before the scenarios: %.1f MB; VmHWM at the end: %.1f MB (registering the owner runs Argon2id with 64 MiB: the high-water mark includes it)\n",
		kBtoMB(float64(res.idleRSS)), kBtoMB(float64(res.hwm)))
	for _, id := range []string{"b1", "b2"} {
		if r, ok := res.samples[id]; ok {
			fmt.Fprintf(w, "- c=32 %s: server CPU %.0f µs per proxied request (median)",
				map[string]string{"b1": "HTTP/1.1", "b2": "HTTP/2"}[id], median(values(r[proxied], "srv_cpu_us_per_req")))
			for _, f := range o.floors() {
				fmt.Fprintf(w, "; %s %.0f µs", f, median(values(r[f], "srv_cpu_us_per_req")))
			}
			fmt.Fprintln(w)
		}
	}
	var steal, other []float64
	for _, sc := range res.scenarios {
		for _, s := range o.sides() {
			steal = append(steal, values(res.samples[sc.id][s], "steal_pct")...)
			other = append(other, values(res.samples[sc.id][s], "other_cpu_pct")...)
		}
	}
	if len(steal) > 0 {
		fmt.Fprintf(w, "- CPU steal (time the hypervisor gave elsewhere) over the runs: median %.1f%%, worst %.1f%%\n", median(steal), slices.Max(steal))
		fmt.Fprintf(w, "- CPU used outside the three processes during the runs (other processes, and kernel softirq work for loopback traffic; %% of one core): median %.0f%%, worst %.0f%%; %d runs were repeated because it exceeded %d%%\n",
			median(other), slices.Max(other), res.repeated, maxOtherCPU)
	}
	fmt.Fprintf(w, "- upstream requests refused for a missing or wrong credential: %d\n", refused)

	if o.verbose {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Every run:")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| scenario | side | runs |")
		fmt.Fprintln(w, "|---|---|---|")
		for _, sc := range res.scenarios {
			for _, s := range o.sides() {
				var parts []string
				for _, smp := range res.samples[sc.id][s] {
					parts = append(parts, fmtSample(smp))
				}
				fmt.Fprintf(w, "| %s | %s | %s |\n", sc.id, s, strings.Join(parts, " / "))
			}
		}
	}
}

// gitRevision names the source measured, read-only.
func gitRevision() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "(unknown revision)"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}

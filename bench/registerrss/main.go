//go:build bench

// Command registerrss measures the server's memory around password
// hashing (each a 64 MiB Argon2id run): it starts agent-vault with a
// master password and prints the resident memory once it is up (the
// unlock ran one), after registering the owner, and after -logins
// logins sent at once, each once the figure has settled. Then it sends
// -n registrations at once, on an invite-only instance and then on an
// open one, sampling the process's resident memory every 5 ms, and
// prints the peak RSS and the statuses of each burst.
//
//	go run -tags bench ./bench/registerrss -bin /path/to/agent-vault [-n 100]
package main

import (
	"bytes"
	"encoding/json"
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
	"sync"
	"sync/atomic"
	"time"
)

// setupCode is the server's one-time setup code for the first account.
const setupCode = "bench-setup-code-0123456789"

func main() {
	bin := flag.String("bin", "", "agent-vault binary (required)")
	n := flag.Int("n", 100, "concurrent registrations per burst")
	logins := flag.Int("logins", 6, "concurrent logins in the login burst")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "-bin is required")
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "registerrss")
	check(err)
	defer os.RemoveAll(tmp)
	port := freePort()
	cmd := exec.Command(*bin, "server", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--data-dir", filepath.Join(tmp, "data"))
	cmd.Env = append(os.Environ(), "HOME="+tmp, "AGENT_VAULT_MASTER_PASSWORD=bench-master-password", "AGENT_VAULT_MITM_PORT=0", "AGENT_VAULT_RATELIMIT_PROFILE=off", "AGENT_VAULT_SETUP_CODE="+setupCode)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitUp(base)
	pid := cmd.Process.Pid
	fmt.Printf("RSS after start and unlock: %.1f MB\n", float64(settled(pid))/1e6)
	var reg struct{ Token string }
	post(base+"/v1/auth/register", "", `{"email":"owner@example.com","password":"owner-password","setup_code":"`+setupCode+`"}`, &reg)
	fmt.Printf("RSS after registering the owner: %.1f MB\n", float64(settled(pid))/1e6)
	var lw sync.WaitGroup
	var ok atomic.Int64
	for range *logins {
		lw.Add(1)
		go func() {
			defer lw.Done()
			if post(base+"/v1/auth/login", "", `{"email":"owner@example.com","password":"owner-password"}`, nil) == http.StatusOK {
				ok.Add(1)
			}
		}()
	}
	lw.Wait()
	fmt.Printf("RSS after %d logins at once (%d accepted): %.1f MB; peak so far (VmHWM) %.1f MB\n", *logins, ok.Load(), float64(settled(pid))/1e6, float64(hwm(pid))/1e6)

	burst := func(name, prefix string) {
		var peak atomic.Int64
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			for {
				if r := rss(pid); r > peak.Load() {
					peak.Store(r)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; i < *n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"email":"%s%d@example.com","password":"a-long-password-%d"}`, prefix, i, i)
				st := post(base+"/v1/auth/register", "", body, nil)
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		took := time.Since(start)
		time.Sleep(50 * time.Millisecond)
		close(stop)
		sampler.Wait()
		var codes []string
		for c, k := range statuses {
			codes = append(codes, fmt.Sprintf("%d×%d", k, c))
		}
		sort.Strings(codes)
		fmt.Printf("%s: %d concurrent registrations in %v: peak RSS %d MiB, %.1f MB once settled; statuses %s\n", name, *n, took.Round(time.Millisecond), peak.Load()>>20, float64(settled(pid))/1e6, strings.Join(codes, " "))
	}
	burst("invite-only", "closed")
	post(base+"/v1/admin/settings", reg.Token, `{"invite_only":false}`, nil)
	burst("open registration", "open")
}

func post(url, tok, body string, out any) int {
	method := http.MethodPost
	if strings.HasSuffix(url, "/settings") {
		method = http.MethodPut
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c := &http.Client{Timeout: 5 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// settled is rss once two readings 500 ms apart agree within 1 % (at
// most 10 s).
func settled(pid int) int64 {
	prev := rss(pid)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		cur := rss(pid)
		if d := cur - prev; d*100 <= prev && -d*100 <= prev {
			return cur
		}
		prev = cur
	}
	return prev
}

// rss is the process's resident set in bytes (/proc/pid/status VmRSS).
func rss(pid int) int64 { return status(pid, "VmRSS:") }

// hwm is the process's peak resident set in bytes.
func hwm(pid int) int64 { return status(pid, "VmHWM:") }

func status(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func waitUp(base string) {
	for i := 0; i < 600; i++ {
		if resp, err := http.Get(base + "/v1/status"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "server did not start")
	os.Exit(1)
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

package agentvault

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestProxyEnv(t *testing.T) {
	caVars := func(bundle, caOnly string) map[string]string {
		return map[string]string{
			"SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle, "GIT_SSL_CAINFO": bundle, "DENO_CERT": bundle,
			"NODE_EXTRA_CA_CERTS": caOnly,
		}
	}
	with := func(base map[string]string, extra ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range append([]map[string]string{base}, extra...) {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   ProxyEnvOptions
		want map[string]string
	}{
		{
			name: "scoped session",
			in: ProxyEnvOptions{Addr: "http://127.0.0.1:14321", Token: "av_sess_abc", Vault: "ci", Scoped: true,
				ProxyHost: "127.0.0.1", ProxyPort: 14322, CAFile: "/run/ca.pem", CABundleFile: "/run/bundle.pem"},
			want: with(map[string]string{
				"AGENT_VAULT_ADDR": "http://127.0.0.1:14321", "AGENT_VAULT_TOKEN": "av_sess_abc", "AGENT_VAULT_VAULT": "ci",
				"HTTPS_PROXY": "http://av_sess_abc:ci@127.0.0.1:14322", "HTTP_PROXY": "http://av_sess_abc:ci@127.0.0.1:14322",
				"NO_PROXY": "localhost,127.0.0.1", "NODE_USE_ENV_PROXY": "1",
			}, caVars("/run/bundle.pem", "/run/ca.pem")),
		},
		{
			name: "agent token names its vault in the proxy URL",
			in: ProxyEnvOptions{Addr: "https://vault.example.com", Token: "av_agt_x", Vault: "my-vault",
				ProxyHost: "proxy.internal", ProxyPort: 9000, CAFile: "/ca.pem", CABundleFile: "/bundle.pem"},
			want: with(map[string]string{
				"AGENT_VAULT_ADDR": "https://vault.example.com", "AGENT_VAULT_TOKEN": "av_agt_x", "AGENT_VAULT_VAULT": "my-vault",
				"HTTPS_PROXY": "http://av_agt_x:my-vault@proxy.internal:9000", "HTTP_PROXY": "http://av_agt_x:my-vault@proxy.internal:9000",
				"NO_PROXY": "localhost,127.0.0.1", "NODE_USE_ENV_PROXY": "1",
			}, caVars("/bundle.pem", "/ca.pem")),
		},
		{
			name: "defaults: proxy host from Addr, default port, one CA file, no vault",
			in:   ProxyEnvOptions{Addr: "http://[::1]:14321", Token: "av_agt_y", CAFile: "/ca.pem"},
			want: with(map[string]string{
				"AGENT_VAULT_ADDR": "http://[::1]:14321", "AGENT_VAULT_TOKEN": "av_agt_y",
				"HTTPS_PROXY": "http://av_agt_y:@[::1]:14322", "HTTP_PROXY": "http://av_agt_y:@[::1]:14322",
				"NO_PROXY": "localhost,127.0.0.1", "NODE_USE_ENV_PROXY": "1",
			}, caVars("/ca.pem", "/ca.pem")),
		},
		{
			name: "bundle only, NO_PROXY merged without duplicates",
			in: ProxyEnvOptions{Addr: "http://h:1", Token: "t", Vault: "v", Scoped: true, ProxyPort: 2, CABundleFile: "/b.pem",
				ParentNoProxy: []string{"LOCALHOST", "internal.example", " ", "127.0.0.1", "Internal.Example", ".corp"}},
			want: with(map[string]string{
				"AGENT_VAULT_ADDR": "http://h:1", "AGENT_VAULT_TOKEN": "t", "AGENT_VAULT_VAULT": "v",
				"HTTPS_PROXY": "http://t:v@h:2", "HTTP_PROXY": "http://t:v@h:2",
				"NO_PROXY": "localhost,127.0.0.1,internal.example,.corp", "NODE_USE_ENV_PROXY": "1",
			}, caVars("/b.pem", "/b.pem")),
		},
		{
			name: "no CA file: no CA variable",
			in:   ProxyEnvOptions{Addr: "http://h:1", Token: "t", Scoped: true, ProxyPort: 2},
			want: map[string]string{
				"AGENT_VAULT_ADDR": "http://h:1", "AGENT_VAULT_TOKEN": "t",
				"HTTPS_PROXY": "http://t:@h:2", "HTTP_PROXY": "http://t:@h:2",
				"NO_PROXY": "localhost,127.0.0.1", "NODE_USE_ENV_PROXY": "1",
			},
		},
		{
			name: "user info is escaped",
			in:   ProxyEnvOptions{Addr: "http://h:1", Token: "a/b@c", Vault: "v:w", ProxyPort: 2},
			want: map[string]string{
				"AGENT_VAULT_ADDR": "http://h:1", "AGENT_VAULT_TOKEN": "a/b@c", "AGENT_VAULT_VAULT": "v:w",
				"HTTPS_PROXY": "http://a%2Fb%40c:v%3Aw@h:2", "HTTP_PROXY": "http://a%2Fb%40c:v%3Aw@h:2",
				"NO_PROXY": "localhost,127.0.0.1", "NODE_USE_ENV_PROXY": "1",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every case also sets the lower-case spellings and OpenClaw's
			// variable, equal to the upper-case ones (checked by value in
			// TestProxyEnvFrameworkVariables).
			for _, k := range []string{"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"} {
				tc.want[strings.ToLower(k)] = tc.want[k]
			}
			tc.want["OPENCLAW_PROXY_URL"] = tc.want["HTTPS_PROXY"]
			if got := ProxyEnv(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ProxyEnv =\n %v\nwant\n %v", got, tc.want)
			}
		})
	}
}

func TestProxyEnvSetsExactlyRunsVariables(t *testing.T) {
	got := ProxyEnv(ProxyEnvOptions{Addr: "http://h:1", Token: "t", Vault: "v", CAFile: "/a", CABundleFile: "/b"})
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"AGENT_VAULT_ADDR", "AGENT_VAULT_TOKEN", "AGENT_VAULT_VAULT", "CURL_CA_BUNDLE", "DENO_CERT", "GIT_SSL_CAINFO",
		"HTTPS_PROXY", "HTTP_PROXY", "NODE_EXTRA_CA_CERTS", "NODE_USE_ENV_PROXY", "NO_PROXY", "OPENCLAW_PROXY_URL", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
		"http_proxy", "https_proxy", "no_proxy"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys = %v\nwant   %v", keys, want)
	}
}

func TestMergeEnviron(t *testing.T) {
	parent := []string{"PATH=/bin", "HTTPS_PROXY=http://old", "https_proxy=http://old", "http_proxy=x", "no_proxy=corp",
		"NO_PROXY=corp", "HOME=/home/a", "AGENT_VAULT_TOKEN=stale", "EMPTY=", "NOEQUALS",
		"AGENT_VAULT_MASTER_PASSWORD=hunter2", "AGENT_VAULT_SMTP_PASSWORD=mailpw", "DATABASE_URL=postgres://av:pw@db/av",
		"AGENT_VAULT_MASTER_PASSWORD_FILE=/etc/agent-vault/master-password", "CREDENTIALS_DIRECTORY=/run/credentials/agent-vault.service"}
	got := MergeEnviron(parent, map[string]string{"HTTPS_PROXY": "http://t@h:2", "NO_PROXY": "localhost,corp", "AGENT_VAULT_TOKEN": "t"})
	want := []string{"PATH=/bin", "HOME=/home/a", "EMPTY=", "NOEQUALS",
		"AGENT_VAULT_TOKEN=t", "HTTPS_PROXY=http://t@h:2", "NO_PROXY=localhost,corp"}
	if !slices.Equal(got, want) {
		t.Fatalf("MergeEnviron =\n %q\nwant\n %q", got, want)
	}
}

// Agent frameworks and tools that read other variables than the standard
// upper-case ones still reach the proxy: curl reads only the lower-case
// http_proxy, Node's own fetch needs NODE_USE_ENV_PROXY, OpenClaw reads
// OPENCLAW_PROXY_URL.
func TestProxyEnvFrameworkVariables(t *testing.T) {
	got := ProxyEnv(ProxyEnvOptions{Addr: "http://127.0.0.1:1", Token: "tok", Vault: "v", ProxyHost: "127.0.0.1", ProxyPort: 2,
		ParentNoProxy: []string{"corp.example"}})
	want := map[string]string{
		"http_proxy": "http://tok:v@127.0.0.1:2", "https_proxy": "http://tok:v@127.0.0.1:2", "no_proxy": "localhost,127.0.0.1,corp.example",
		"NODE_USE_ENV_PROXY": "1", "OPENCLAW_PROXY_URL": "http://tok:v@127.0.0.1:2",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// A parent's lower-case variables never survive the merge.
	env := MergeEnviron([]string{"http_proxy=http://stale:1", "no_proxy=*"}, got)
	for _, kv := range env {
		if kv == "http_proxy=http://stale:1" || kv == "no_proxy=*" {
			t.Errorf("the parent's %s reached the child", kv)
		}
	}
}

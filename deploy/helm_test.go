package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

type manifest = map[string]any

// render renders the chart with values (merged over values.yaml, checked
// against values.schema.json) offline, as `helm template` would, and
// returns the manifests by "Kind/name".
func render(t *testing.T, values map[string]any) (map[string]manifest, error) {
	t.Helper()
	ch, err := loader.Load("helm/agent-vault")
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	vals, err := util.ToRenderValuesWithSchemaValidation(ch, values,
		common.ReleaseOptions{Name: "av", Namespace: "vault", IsInstall: true}, common.DefaultCapabilities, false)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	out := map[string]manifest{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(files[n])))
		for {
			var m manifest
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s is not YAML: %v\n%s", n, err, files[n])
			}
			if m == nil {
				continue
			}
			key := get[string](t, m, "kind") + "/" + get[string](t, m, "metadata", "name")
			out[key] = m
		}
	}
	return out, nil
}

// get walks m by keys (string keys and int indexes) and returns the value as T.
func get[T any](t *testing.T, v any, path ...any) T {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not a map: %#v", path, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: not a list long enough: %#v", path, v)
			}
			v = l[k]
		}
	}
	out, ok := v.(T)
	if !ok {
		var zero T
		t.Fatalf("at %v: %#v is not a %T", path, v, zero)
	}
	return out
}

// envOf maps the container's env names to their entries.
func envOf(t *testing.T, c any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, e := range get[[]any](t, c, "env") {
		em := e.(map[string]any)
		out[em["name"].(string)] = em
	}
	return out
}

// checkPod: restricted pod security, probes on /healthz and /readyz, the
// master password as a mounted Secret file and never an env value.
func checkPod(t *testing.T, d manifest) any {
	t.Helper()
	pod := get[map[string]any](t, d, "spec", "template", "spec")
	psc := get[map[string]any](t, pod, "securityContext")
	if psc["runAsNonRoot"] != true || get[string](t, psc, "seccompProfile", "type") != "RuntimeDefault" || psc["runAsUser"] == 0 {
		t.Errorf("pod securityContext = %v", psc)
	}
	if pod["automountServiceAccountToken"] != false {
		t.Errorf("the pod mounts a service account token")
	}
	c := get[any](t, pod, "containers", 0)
	sc := get[map[string]any](t, c, "securityContext")
	if sc["allowPrivilegeEscalation"] != false || sc["readOnlyRootFilesystem"] != true || sc["runAsNonRoot"] != true {
		t.Errorf("container securityContext = %v", sc)
	}
	if drop := get[[]any](t, sc, "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
		t.Errorf("capabilities.drop = %v, want [ALL]", drop)
	}
	if p := get[string](t, c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("liveness probe path = %q", p)
	}
	if p := get[string](t, c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe path = %q", p)
	}
	ports := map[string]int{}
	for _, p := range get[[]any](t, c, "ports") {
		pm := p.(map[string]any)
		ports[pm["name"].(string)] = pm["containerPort"].(int)
	}
	if ports["http"] != 14321 || ports["proxy"] != 14322 {
		t.Errorf("container ports = %v", ports)
	}
	env := envOf(t, c)
	if _, ok := env["AGENT_VAULT_MASTER_PASSWORD"]; ok {
		t.Errorf("the master password is an environment variable")
	}
	if get[string](t, env["AGENT_VAULT_MASTER_PASSWORD_FILE"], "value") != "/run/secrets/agent-vault/master-password" {
		t.Errorf("AGENT_VAULT_MASTER_PASSWORD_FILE = %v", env["AGENT_VAULT_MASTER_PASSWORD_FILE"])
	}
	found := false
	for _, v := range get[[]any](t, pod, "volumes") {
		vm := v.(map[string]any)
		if vm["name"] == "master-password" {
			found = get[string](t, vm, "secret", "secretName") == "av-master"
		}
	}
	if !found {
		t.Errorf("no volume from the master password Secret av-master")
	}
	return c
}

func checkServicesAndPolicy(t *testing.T, m map[string]manifest) {
	t.Helper()
	for name, port := range map[string]int{"Service/av-agent-vault": 14321, "Service/av-agent-vault-proxy": 14322} {
		s, ok := m[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		if p := get[int](t, s, "spec", "ports", 0, "port"); p != port {
			t.Errorf("%s port = %d, want %d", name, p, port)
		}
	}
	np, ok := m["NetworkPolicy/av-agent-vault"]
	if !ok {
		t.Fatal("no NetworkPolicy")
	}
	ports := []string{get[string](t, np, "spec", "ingress", 0, "ports", 0, "port"), get[string](t, np, "spec", "ingress", 1, "ports", 0, "port")}
	if strings.Join(ports, ",") != "http,proxy" {
		t.Errorf("NetworkPolicy ingress ports = %v, want only http and proxy", ports)
	}
}

// TestHelmChartSQLite: one replica, a PersistentVolumeClaim kept on
// uninstall, the Recreate strategy (never two servers on one file).
func TestHelmChartSQLite(t *testing.T) {
	m, err := render(t, map[string]any{"masterPassword": map[string]any{"secret": map[string]any{"name": "av-master"}}})
	if err != nil {
		t.Fatal(err)
	}
	d := m["Deployment/av-agent-vault"]
	if d == nil {
		t.Fatalf("no Deployment; rendered %v", keys(m))
	}
	if get[int](t, d, "spec", "replicas") != 1 || get[string](t, d, "spec", "strategy", "type") != "Recreate" {
		t.Errorf("SQLite deployment: replicas %v, strategy %v", get[any](t, d, "spec", "replicas"), get[any](t, d, "spec", "strategy"))
	}
	c := checkPod(t, d)
	if _, ok := envOf(t, c)["DATABASE_URL"]; ok {
		t.Errorf("SQLite mode sets DATABASE_URL")
	}
	// The operator's setup code comes from a Secret, never a literal.
	withCode, err := render(t, map[string]any{"masterPassword": map[string]any{"secret": map[string]any{"name": "av-master"}},
		"setupCode": map[string]any{"secret": map[string]any{"name": "av-setup"}}})
	if err != nil {
		t.Fatal(err)
	}
	sc := envOf(t, checkPod(t, withCode["Deployment/av-agent-vault"]))["AGENT_VAULT_SETUP_CODE"]
	if ref := get[map[string]any](t, sc, "valueFrom", "secretKeyRef"); ref["name"] != "av-setup" || ref["key"] != "setup-code" {
		t.Errorf("AGENT_VAULT_SETUP_CODE = %v, want the Secret av-setup, key setup-code", sc)
	}
	if _, ok := sc["value"]; ok {
		t.Errorf("AGENT_VAULT_SETUP_CODE has a literal value")
	}
	pvc := m["PersistentVolumeClaim/av-agent-vault-data"]
	if pvc == nil || get[string](t, pvc, "metadata", "annotations", "helm.sh/resource-policy") != "keep" {
		t.Errorf("no PersistentVolumeClaim kept on uninstall: %v", pvc)
	}
	if got := get[string](t, d, "spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"); got != "av-agent-vault-data" {
		t.Errorf("data volume claim = %q", got)
	}
	checkServicesAndPolicy(t, m)
}

// TestHelmChartPostgres: three replicas, the database URL and master
// password from Secrets, no volume claim.
func TestHelmChartPostgres(t *testing.T) {
	m, err := render(t, map[string]any{
		"replicaCount":   3,
		"database":       map[string]any{"mode": "postgres", "postgres": map[string]any{"urlSecret": map[string]any{"name": "av-db"}}},
		"masterPassword": map[string]any{"secret": map[string]any{"name": "av-master"}},
		"baseURL":        "https://vault.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	d := m["Deployment/av-agent-vault"]
	if get[int](t, d, "spec", "replicas") != 3 {
		t.Errorf("replicas = %v, want 3", get[any](t, d, "spec", "replicas"))
	}
	c := checkPod(t, d)
	env := envOf(t, c)
	ref := get[map[string]any](t, env["DATABASE_URL"], "valueFrom", "secretKeyRef")
	if ref["name"] != "av-db" || ref["key"] != "url" {
		t.Errorf("DATABASE_URL secretKeyRef = %v", ref)
	}
	if _, ok := env["DATABASE_URL"]["value"]; ok {
		t.Errorf("DATABASE_URL has a literal value")
	}
	if _, ok := env["AGENT_VAULT_SETUP_CODE"]; ok {
		t.Errorf("AGENT_VAULT_SETUP_CODE is set without a setupCode Secret")
	}
	if get[string](t, env["AGENT_VAULT_ADDR"], "value") != "https://vault.example.com" {
		t.Errorf("AGENT_VAULT_ADDR = %v", env["AGENT_VAULT_ADDR"])
	}
	for k := range m {
		if strings.HasPrefix(k, "PersistentVolumeClaim/") {
			t.Errorf("PostgreSQL mode renders %s", k)
		}
	}
	checkServicesAndPolicy(t, m)
}

// TestHelmChartRefusesUnsafeValues: several replicas on one SQLite file,
// PostgreSQL without the URL's Secret, and an unknown mode are refused at
// render time with what to change.
func TestHelmChartRefusesUnsafeValues(t *testing.T) {
	for _, c := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"replicas on sqlite", map[string]any{"replicaCount": 2}, "needs database.mode=postgres"},
		{"postgres without url", map[string]any{"database": map[string]any{"mode": "postgres"}}, "urlSecret.name"},
		{"unknown mode", map[string]any{"database": map[string]any{"mode": "mysql"}}, "mode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := render(t, c.values)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func keys(m map[string]manifest) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

#!/usr/bin/env bash
# The whole test suite: formatting, vet, staticcheck, then every test
# (unit, in-process server, end-to-end against the built binary).
# It installs what it needs itself, so it runs on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=2026.1  # honnef.co/go/tools v0.8.2
export PATH="$PWD/bin:$PATH"

# Tools the end-to-end tests drive: headless Chromium for the approval
# page, Python requests, curl and git, and a PostgreSQL server. Installed
# when missing and we may (CI runs as root on Debian); tests that need a
# missing tool skip loudly.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v git >/dev/null 2>&1 || need+=(git)
python3 -c 'import requests' >/dev/null 2>&1 || need+=(python3-requests)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
# The container image test (e2e/container_test.go) builds and runs it offline.
command -v podman >/dev/null 2>&1 || need+=(podman buildah)
command -v runc >/dev/null 2>&1 || need+=(runc)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing ${need[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# undici for the Node.js ProxyAgent test (Node 20's fetch ignores proxies).
if command -v npm >/dev/null 2>&1 && ! [ -d e2e/.node/node_modules/undici ]; then
  echo "==> installing undici for the Node.js proxy test"
  npm install --silent --no-audit --no-fund --prefix e2e/.node undici@7 >/dev/null 2>&1 || echo "    (npm install failed; the undici test will skip)"
fi
# axe-core for the browser tests' accessibility check, pinned (the same
# version as axeVersion in e2e/browser_axe_test.go).
AXE_VERSION=4.14.1
if command -v npm >/dev/null 2>&1 && ! grep -qs "\"version\": \"$AXE_VERSION\"" e2e/.node/node_modules/axe-core/package.json; then
  echo "==> installing axe-core $AXE_VERSION for the browser accessibility check"
  npm install --silent --no-audit --no-fund --prefix e2e/.node "axe-core@$AXE_VERSION" >/dev/null 2>&1 || echo "    (npm install failed; the browser tests skip their axe-core check, saying so)"
fi

echo "==> gofmt (at ${SECONDS}s)"
unformatted=$(gofmt -l cmd internal e2e 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "==> go vet (at ${SECONDS}s)"
go vet ./...

echo "==> staticcheck ($STATICCHECK_VERSION) (at ${SECONDS}s)"
if ! [ -x bin/staticcheck ]; then
  GOBIN="$PWD/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
bin/staticcheck ./...

# A throwaway PostgreSQL server on loopback: the replica tests in e2e use
# it during `go test ./...`, then the store and the packages above it run
# again with PostgreSQL as their database.
pg=no
if out=$(scripts/pg-test.sh start 2>&1); then
  eval "$out"
  trap 'scripts/pg-test.sh stop "$PG_TEST_DIR"' EXIT
  pg=yes
else
  echo "==> NOTE: no PostgreSQL server could be started; its tests will skip:"
  echo "$out" | sed 's/^/    /'
fi

# Everything outside internal/ (the end-to-end tests, which drive the
# built binary, the command and the public package) runs as it is built;
# the internal packages run under the race detector, once: the proxy, the
# request log batcher, the rate limiter, the password gate, the server
# and the store all have goroutines of their own. The proxy runs without
# the detector too: under it, it reads and writes sockets another way
# (internal/proxy/rawsock_race.go) and its allocation tests skip.
echo "==> go test, outside internal/ and the proxy (at ${SECONDS}s)"
go test -count=1 -timeout 10m $(go list ./... | grep -v '/internal/') ./internal/proxy
echo "==> go test -race ./internal/... (at ${SECONDS}s)"
go test -race -count=1 -timeout 10m ./internal/...

# Every fuzz target in the repository fuzzes for a share of 72 seconds
# (scripts/fuzz.sh; the step, builds included, stays under three).
scripts/fuzz.sh

if [ "$pg" = yes ]; then
  echo "==> go test on PostgreSQL (store, broker, server, web, proxy, audit) (at ${SECONDS}s)"
  AGENT_VAULT_TEST_ENGINE=postgres go test -count=1 -timeout 10m \
    ./internal/store/... ./internal/broker ./internal/server ./internal/web ./internal/proxy ./internal/audit
fi
echo "==> all checks passed (at ${SECONDS}s)"

#!/usr/bin/env bash
# CPU profile of the broker proxy for the c=32 small-GET case. The server
# has no pprof endpoint, so this runs the in-process benchmark in
# internal/proxy (bench_proxy_test.go): the proxy, the upstream and the
# load generator share one process, and pprof labels (role=proxy|upstream|
# client) tell their samples apart.
#
#   bash bench/profile.sh            # HTTP/1.1 and HTTP/2, 5 s each
#   OUT=/tmp/prof bash bench/profile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$(mktemp -d /tmp/agent-vault-profile.XXXXXX)}
mkdir -p "$out"
for proto in h1 h2; do
  go test -run '^$' -bench "BenchmarkProxySmallGETc32/proxy-$proto\$" -benchtime 5s -count 1 \
    -cpuprofile "$out/cpu-$proto.pprof" -o "$out/proxy.test" ./internal/proxy
  echo "== $proto: proxy goroutines only (role=proxy), top 25 by flat"
  go tool pprof -top -nodecount 25 -tagfocus role=proxy "$out/proxy.test" "$out/cpu-$proto.pprof" 2>/dev/null | sed -n '1,35p'
  echo "== $proto: proxy goroutines only, top 25 by cumulative"
  go tool pprof -top -cum -nodecount 25 -tagfocus role=proxy "$out/proxy.test" "$out/cpu-$proto.pprof" 2>/dev/null | sed -n '1,35p'
done
echo "profiles in $out (go tool pprof -http=: $out/proxy.test $out/cpu-h1.pprof)"

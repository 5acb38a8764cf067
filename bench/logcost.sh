#!/usr/bin/env bash
# Measures what the request log costs the proxy (docs/performance.md): runs
# BenchmarkProxyRequestLogc32 (internal/proxy/bench_log_test.go) with the
# log off, on, and on with metrics, in turn, for several rounds (so that a
# slow minute of a shared machine hits every side alike), then prints the
# median req/s and CPU time per request of each side, its ratio to logging
# off, and the median of the per-round ratios (each round's sides ran
# within seconds of each other, which cancels the drift of a shared
# machine better than comparing medians).
#
#   bash bench/logcost.sh            # 9 rounds of 3 s per side (~2.5 min)
#   ROUNDS=15 BENCHTIME=2s bash bench/logcost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-9}
benchtime=${BENCHTIME:-3s}
bin=$(mktemp -d)/proxy.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./internal/proxy/
out=$(dirname "$bin")/runs.txt
for ((r = 1; r <= rounds; r++)); do
	echo "round $r/$rounds" >&2
	modes=('off' 'on' 'on\+metrics')
	((r % 2)) || modes=('on\+metrics' 'on' 'off') # no side always goes first
	for mode in "${modes[@]}"; do
		line=$(cd internal/proxy && "$bin" -test.run '^$' -test.bench "ProxyRequestLogc32/log-${mode}\$" \
			-test.benchtime "$benchtime" | grep '^BenchmarkProxyRequestLogc32')
		echo "  $line" >&2
		echo "$r $line" >>"$out"
	done
done
awk '
	{ round = $1; $1 = ""; $0 = $0
	  name = $1; sub(/^BenchmarkProxyRequestLogc32\/log-/, "", name); sub(/-[0-9]+$/, "", name)
	  for (i = 2; i < NF; i++) {
		if ($(i+1) == "req/s") { rps[name] = rps[name] " " $i; r[name, round] = $i }
		if ($(i+1) == "cpu-µs/req") cpu[name] = cpu[name] " " $i
		if ($(i+1) == "dropped" && $i > 0) dropped[name] += $i
	  }
	  if (name != "off" && (("off", round) in r)) ratio[name] = ratio[name] " " (r[name, round] / r["off", round]) }
	function median(list,   a, n, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	END {
		base = median(rps["off"]); basecpu = median(cpu["off"])
		printf "| side | req/s (median) | vs off | per-round ratio (median) | CPU µs/req (median) | vs off |\n|---|---|---|---|---|---|\n"
		split("off on on+metrics", sides, " ")
		for (s = 1; s <= 3; s++) {
			k = sides[s]; m = median(rps[k]); c = median(cpu[k])
			pr = k == "off" ? "—" : sprintf("%+.1f %%", (median(ratio[k]) - 1) * 100)
			printf "| %s | %.0f | %+.1f %% | %s | %.1f | %+.1f %% |\n", k, m, (m / base - 1) * 100, pr, c, (c / basecpu - 1) * 100
			if (dropped[k] > 0) printf "(the %s side dropped %d rows: its figures are too good)\n", k, dropped[k]
		}
	}' "$out"

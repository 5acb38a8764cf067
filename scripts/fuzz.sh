#!/usr/bin/env bash
# Runs every fuzz target in the repository (found with a grep of the source)
# with -fuzz, each for a share of FUZZ_BUDGET seconds (default 72) and at least 2, so
# that the whole step, builds included, stays under three minutes.
# Inputs that fail are saved under the package's testdata/fuzz (commit
# them: they become regression cases of the ordinary `go test`) and fail
# the step.
#
#   scripts/fuzz.sh                  # every target
#   FUZZ_BUDGET=600 scripts/fuzz.sh  # longer
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_budget=${FUZZ_BUDGET:-72}
# Targets are found in the source (a grep, not `go test -list`, which
# would link every test binary first).
targets=()
while IFS= read -r line; do
  file=${line%%:*}
  name=${line#*:func }
  targets+=("./$(dirname "$file") ${name%%(*}")
done < <(grep -rH --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' cmd internal pkg e2e 2>/dev/null | sort)
each=$(( fuzz_budget / ${#targets[@]} ))
[ "$each" -ge 2 ] || each=2
echo "==> fuzzing ${#targets[@]} targets, ${each}s each"
fuzz_log=$(mktemp)
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# failure when -fuzztime ends while a worker is still busy (a toolchain race,
# go.dev/issue/75804, fixed in Go 1.27). That report carries no failing
# input, so it is told apart from a finding: a finding always writes its
# input under testdata/fuzz and says "Failing input written". A bare
# deadline report is retried once and then passed with a warning; anything
# else fails the step.
deadline_race() {
  grep -q 'context deadline exceeded' "$1" &&
    ! grep -qE 'Failing input written|panic:' "$1" &&
    ! grep -qE '^\s+[A-Za-z0-9_]+\.go:[0-9]+:' "$1"
}
fuzz_one() {
  go test -run '^$' -fuzz "^$2\$" -fuzztime "${each}s" "$1" >"$fuzz_log" 2>&1
}
for t in "${targets[@]}"; do
  set -- $t
  echo "    $2 ($1)"
  fuzz_one "$1" "$2" && continue
  if deadline_race "$fuzz_log"; then
    echo "    $2: the toolchain's fuzztime deadline race (no failing input); running it again"
    fuzz_one "$1" "$2" && continue
    if deadline_race "$fuzz_log"; then
      echo "    $2: the deadline race again, still no failing input; passed with this warning"
      continue
    fi
  fi
  cat "$fuzz_log"
  exit 1
done
rm -f "$fuzz_log"

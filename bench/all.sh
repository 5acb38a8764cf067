#!/usr/bin/env bash
# Runs every measurement docs/performance.md reports, against one build of
# ./cmd/agent-vault (or -bin PATH), and prints Markdown on stdout
# (progress on stderr):
#
#   bash bench/all.sh                 # ≈ 10 minutes on an idle machine
#   bash bench/all.sh -bin /path/to/agent-vault
#
# The parts can be run alone; docs/performance.md lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""
if [[ "${1:-}" == "-bin" ]]; then bin="$2"; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [[ -z "$bin" ]]; then
	echo "all: building ./cmd/agent-vault" >&2
	bin="$tmp/agent-vault"
	go build -o "$bin" ./cmd/agent-vault
fi
echo "# bench/all.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' with uncommitted changes')"
echo
go run -tags bench ./bench -bin "$bin" -relay -tls-relay
echo
go run -tags bench ./bench/registerrss -bin "$bin"
echo
go run -tags bench ./bench -bin "$bin" -idle 10000 -idle-mitm 1000
echo
go run -tags bench ./bench/startup -bin "$bin"

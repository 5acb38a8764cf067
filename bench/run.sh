#!/usr/bin/env bash
# Runs the broker proxy benchmark (docs/performance.md): builds agent-vault,
# starts it with the proxy on a free loopback port, and measures direct vs
# through-the-proxy traffic to an HTTPS upstream on 127.0.0.1. Prints a
# Markdown table on stdout (progress on stderr). Takes about 3 minutes.
#
#   bash bench/run.sh                 # defaults: 3 runs of 3 s per side
#   bash bench/run.sh -v              # also every run's figures
#   bash bench/run.sh -relay          # also through a blind tunnel: the floor under each ratio
#   bash bench/run.sh -only a,b1 -duration 5s
#   bash bench/run.sh -only b1,b2 -perf /tmp/av-perf   # + Linux perf profiles of the server
#   bash bench/run.sh -upstream-h1only                 # upstream (so the proxy's upstream leg) HTTP/1.1 only
#   bash bench/run.sh -bin /path/to/agent-vault        # measure another build
#   bash bench/run.sh -h                               # every option
#
# The harness is behind the `bench` build tag, so `go test ./...`,
# `go vet ./...` and `go build ./...` never see it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run -tags bench ./bench "$@"

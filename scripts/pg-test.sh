#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on 127.0.0.1 only.
#
#   eval "$(scripts/pg-test.sh start)"   # exports AGENT_VAULT_TEST_POSTGRES_URL and PG_TEST_DIR
#   scripts/pg-test.sh stop "$PG_TEST_DIR"
#
# The cluster lives in a temporary directory with a random password
# (SCRAM) and a free port; its socket directory is that directory too, so
# nothing outside it is touched. PostgreSQL refuses to run as root, so as
# root the server runs as the `postgres` user.
set -euo pipefail

pgbin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  bin=$(pgbin) || { echo "scripts/pg-test.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }
  dir=$(mktemp -d /tmp/av-pg.XXXXXX)
  pw=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '%s\n' "$pw" >"$dir/pwfile"
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U avtest --pwfile="$dir/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "export PG_TEST_DIR=$dir"
  echo "export AGENT_VAULT_TEST_POSTGRES_URL='postgres://avtest:$pw@127.0.0.1:$port/postgres?sslmode=disable'"
  ;;
stop)
  dir=${2:?usage: scripts/pg-test.sh stop DIR}
  bin=$(pgbin)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: scripts/pg-test.sh start | stop DIR" >&2
  exit 2
  ;;
esac

#!/usr/bin/env bash
# Build the release archives of agent-vault from this checkout, offline:
# static binaries (CGO_ENABLED=0, -trimpath) for linux and darwin on amd64
# and arm64, packed reproducibly (sorted entries, fixed owners and mtimes,
# gzip without a timestamp), with SHA-256 checksums, and a container build
# context per linux target (deploy/container/Containerfile).
#
#   scripts/release.sh                 # everything into dist/
#   scripts/release.sh --check         # build twice (the second from an empty build cache), fail unless the bytes match
#   TARGETS="linux/amd64" OUT=/tmp/d scripts/release.sh
#
# VERSION defaults to `git describe --tags --always --dirty`; the commit,
# its time and the dirty flag are stamped into the binary
# (agent-vault version). Every timestamp in the archives is the commit's
# time, so the same commit always gives the same bytes.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/dist}
TARGETS=${TARGETS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"}
CHECK=0
[[ "${1:-}" == "--check" ]] && CHECK=1

if git rev-parse --git-dir >/dev/null 2>&1; then
  COMMIT=$(git rev-parse HEAD)
  EPOCH=$(git log -1 --format=%ct HEAD)
  MODIFIED=false
  [[ -n "$(git status --porcelain --untracked-files=no)" ]] && MODIFIED=true
  VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo "dev")}
else
  COMMIT=${COMMIT:-}
  EPOCH=${SOURCE_DATE_EPOCH:-0}
  MODIFIED=false
  VERSION=${VERSION:-dev}
fi
# A bare commit id is not a version: call it dev-<commit>.
[[ "$VERSION" =~ ^[0-9a-f]{7,}(-dirty)?$ ]] && VERSION="dev-$VERSION"
TIME=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)
export SOURCE_DATE_EPOCH=$EPOCH

PKG=github.com/agent-vault/agent-vault/internal/version
LDFLAGS="-s -w -buildid= -X $PKG.stamped=$VERSION -X $PKG.stampedCommit=$COMMIT -X $PKG.stampedTime=$TIME -X $PKG.stampedModified=$MODIFIED"

# pack DIR NAME ARCHIVE: a reproducible tar.gz of DIR/NAME.
pack() {
  local dir=$1 name=$2 archive=$3
  find "$dir/$name" -exec touch -h -d "@$EPOCH" {} +
  tar -C "$dir" --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
    --mode='u+rwX,go+rX,go-w' --format=ustar -cf - "$name" | gzip -n -9 >"$archive"
}

# build OUTDIR: every target into OUTDIR.
build() {
  local out=$1 stage
  stage=$(mktemp -d)
  mkdir -p "$out"
  for t in $TARGETS; do
    local os=${t%/*} arch=${t#*/}
    local name="agent-vault-$VERSION-$os-$arch"
    mkdir -p "$stage/$name"
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS= go build -trimpath -buildvcs=false \
      -ldflags "$LDFLAGS" -o "$stage/$name/agent-vault" ./cmd/agent-vault
    cp README.md "$stage/$name/"
    [[ -f LICENSE ]] && cp LICENSE "$stage/$name/"
    mkdir -p "$stage/$name/deploy"
    cp -r deploy/systemd deploy/container "$stage/$name/deploy/" 2>/dev/null || true
    mkdir -p "$stage/$name/docs" && cp docs/self-hosting.md "$stage/$name/docs/" 2>/dev/null || true
    pack "$stage" "$name" "$out/$name.tar.gz"
    if [[ $os == linux ]]; then
      # The container build context: the binary, the CA bundle, /data.
      local ctx="$out/container-linux-$arch"
      rm -rf "$ctx" && mkdir -p "$ctx/data"
      cp "$stage/$name/agent-vault" deploy/container/Containerfile "$ctx/"
      cp "${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/ca-certificates.crt"
    fi
  done
  (cd "$out" && sha256sum ./*.tar.gz | sed 's| \./| |' | LC_ALL=C sort -k2 >SHA256SUMS)
  rm -rf "$stage"
}

build "$OUT"
if [[ $CHECK == 1 ]]; then
  second=$(mktemp -d)
  # The second build compiles from nothing (a cache of its own), so the
  # check covers compiling as well as linking and packing.
  # RELEASE_CHECK_SHARED_CACHE=1 reuses the first build's cache (faster;
  # the test suite uses it to check linking and packing only).
  if [[ "${RELEASE_CHECK_SHARED_CACHE:-}" == 1 ]]; then
    build "$second"
  else
    cache=$(mktemp -d)
    GOCACHE=$cache build "$second"
    chmod -R u+w "$cache" && rm -rf "$cache"
  fi
  if ! cmp -s "$OUT/SHA256SUMS" "$second/SHA256SUMS"; then
    echo "NOT REPRODUCIBLE: a second build gave other bytes:" >&2
    diff "$OUT/SHA256SUMS" "$second/SHA256SUMS" >&2 || true
    rm -rf "$second"
    exit 1
  fi
  rm -rf "$second"
  echo "reproducible: two builds gave the same bytes"
fi
echo "version $VERSION (commit ${COMMIT:-unknown}, $TIME, modified=$MODIFIED)"
(cd "$OUT" && ls -l ./*.tar.gz | awk '{print $5, $9}' && cat SHA256SUMS)

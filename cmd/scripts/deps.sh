#!/usr/bin/env bash
# Installs what building and testing need beyond the base image (Go, gcc,
# PostgreSQL 15): libhdf5 for cgo, h5dump, PgBouncer (Debian's 1.18, for
# the transaction-pooling test pass), Chromium for the report's browser
# tests, and the pinned MinIO server, built once from source and cached
# outside the clone.
set -euo pipefail

export GOPROXY=https://proxy.golang.org   # no ",direct": GitHub is unreachable here
CACHE=${BENCHWRAP_CACHE:-$HOME/.cache/benchwrap}
# Keep in step with devserver.MinIOVersion (a test checks they agree).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in libhdf5-dev hdf5-tools pkg-config pgbouncer chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bin=$CACHE/minio-$MINIO_VERSION
mkdir -p "$CACHE"
# One build at a time: parallel `make` runs in several clones share the cache.
exec 9>"$CACHE/minio.lock"
flock 9
if [ ! -x "$bin" ]; then
  echo "deps: building MinIO $MINIO_VERSION (about 5 minutes, once)" >&2
  work=$CACHE/minio-build
  mkdir -p "$work"
  cat > "$work/go.mod" <<MOD
module benchwrap-minio-build

go 1.26
MOD
  cat > "$work/tools.go" <<'SRC'
//go:build tools

package tools

import _ "github.com/minio/minio"
SRC
  (cd "$work" && GOWORK=off GOFLAGS=-mod=mod go get "github.com/minio/minio@$MINIO_VERSION" >/dev/null 2>&1 \
     && GOWORK=off GOFLAGS=-mod=mod go build -o "$bin.tmp" github.com/minio/minio)
  mv "$bin.tmp" "$bin"
fi
echo "deps: ok (minio: $bin)" >&2

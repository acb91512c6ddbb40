#!/usr/bin/env bash
# make deploy-check: proves that every function image of stack.yml would
# build, and that the manifests in deploy/ are what stack.yml generates.
#
#   1. faas-cli at the pinned version, built once from the module proxy with
#      a wrapper module and cached in $BENCHWRAP_CACHE (~/.cache/benchwrap);
#   2. faas-cli build --shrinkwrap -f stack.yml, with no network: build/<fn>/
#      is each image's build context;
#   3. in each build/<fn>/, the Go commands its Dockerfile runs, through the
#      same script (the template's build.sh: gofmt -l must be empty, go test
#      ./... in function/, go build) into build/bin/<fn>;
#   4. faas-cli generate for OpenFaaS and for Knative, with no network and no
#      REGISTRY/TAG/... in the environment, compared with deploy/openfaas/
#      functions.yaml and deploy/knative/services.yaml.
#
# usage: cmd/scripts/deploy-check.sh [--update | --generate | --build-only]
#   --update      rewrite the generated manifests instead of failing on a difference
#   --generate    step 4 only, rewriting the manifests (after editing stack.yml)
#   --build-only  steps 1-3 (make bench-functions uses the binaries)
# Needs Go, and gcc with libhdf5-dev for the cgo template (make deps).
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=check
case ${1:-} in
  "") ;;
  --update) mode=update ;;
  --generate) mode=generate ;;
  --build-only) mode=build ;;
  *) echo "usage: $0 [--update | --generate | --build-only]" >&2; exit 2 ;;
esac

export GOPROXY=https://proxy.golang.org   # no ",direct": GitHub is unreachable here
CACHE=${BENCHWRAP_CACHE:-$HOME/.cache/benchwrap}
# Pinned in /work/shared/docs/toolchain.md; `go install` of it does not work.
FAAS_CLI_MODULE=github.com/openfaas/faas-cli
FAAS_CLI_VERSION=v0.0.0-20211012083206-08e3e965c831
faas=$CACHE/faas-cli-$FAAS_CLI_VERSION

log() { echo "deploy-check: $*" >&2; }
started=$SECONDS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$faas" ]; then
  log "building faas-cli $FAAS_CLI_VERSION (once, ~30 s)"
  work=$CACHE/faas-cli-build
  rm -rf "$work" && mkdir -p "$work"
  printf 'module benchwrap-faas-cli-build\n\ngo 1.26\n' > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$FAAS_CLI_MODULE" > "$work/tools.go"
  (cd "$work" && GOWORK=off GOFLAGS=-mod=mod go get "$FAAS_CLI_MODULE@$FAAS_CLI_VERSION" >/dev/null 2>&1 \
     && GOWORK=off GOFLAGS=-mod=mod go build -o "$faas.tmp" "$FAAS_CLI_MODULE")
  mv "$faas.tmp" "$faas"
fi

# faas-cli with no network (a new network namespace has only a down
# loopback) and a clean environment, so that stack.yml's ${VAR:-default}
# take their defaults.
offline() {
  local env=(env -i PATH="$PATH" HOME="$HOME")
  if [ "$(id -u)" = 0 ]; then
    "${env[@]}" unshare -n "$@"
  elif unshare -rn true 2>/dev/null; then
    "${env[@]}" unshare -rn "$@"
  else
    log "warning: cannot unshare the network namespace (not root); running faas-cli with network"
    "${env[@]}" "$@"
  fi
}

if [ "$mode" != generate ]; then
log "faas-cli build --shrinkwrap -f stack.yml (offline)"
rm -rf build
offline "$faas" build --shrinkwrap -f stack.yml > "$tmp/faas-cli.log" 2>&1 || { cat "$tmp/faas-cli.log" >&2; exit 1; }
mkdir -p build/bin

failed=()
for ctx in build/*/; do
  fn=$(basename "$ctx")
  [ "$fn" = bin ] && continue
  if [ ! -f "$ctx/build.sh" ] || [ ! -f "$ctx/Dockerfile" ] || [ ! -d "$ctx/function/shared" ]; then
    log "$fn: build context lacks build.sh, Dockerfile or function/shared"
    failed+=("$fn")
    continue
  fi
  log "$fn: the Dockerfile's Go commands (gofmt, go test, go build)"
  t0=$SECONDS
  if sh "$ctx/build.sh" "build/bin/$fn"; then
    # build.sh checks gofmt itself; check again what it left behind (handle.go).
    out=$(gofmt -l "$ctx")
    if [ -n "$out" ]; then
      log "$fn: gofmt -l reports: $out"
      failed+=("$fn")
    else
      log "$fn: ok ($((SECONDS - t0)) s)"
    fi
  else
    log "$fn: FAILED"
    failed+=("$fn")
  fi
done
if ((${#failed[@]})); then
  log "image builds that would fail: ${failed[*]}"
  exit 1
fi
if [ "$mode" = build ]; then
  log "ok: binaries in build/bin/ ($((SECONDS - started)) s)"
  exit 0
fi
fi

generate() { # api namespace file
  {
    echo "# Generated from stack.yml by: faas-cli generate --api=$1 -n $2 -f stack.yml"
    echo "# DO NOT EDIT: change stack.yml, then run cmd/scripts/deploy-check.sh --update."
    offline "$faas" generate --api="$1" -n "$2" -f stack.yml
  } > "$tmp/out"
  if cmp -s "$tmp/out" "$3"; then
    log "$3: up to date"
  elif [ "$mode" = update ] || [ "$mode" = generate ]; then
    mkdir -p "$(dirname "$3")"
    cp "$tmp/out" "$3"
    log "$3: updated"
  else
    diff -u "$3" "$tmp/out" >&2 || true
    log "$3 is out of date with stack.yml: run cmd/scripts/deploy-check.sh --update"
    stale=1
  fi
}
stale=0
generate openfaas.com/v1 openfaas-fn deploy/openfaas/functions.yaml
generate serving.knative.dev/v1 benchwrap deploy/knative/services.yaml
[ "$stale" = 0 ] || exit 1
[ "$mode" = generate ] && { log "ok: deploy/ regenerated from stack.yml (no builds)"; exit 0; }
log "ok: all $(ls build/bin | wc -l) images would build; deploy/ is in sync with stack.yml ($((SECONDS - started)) s)"

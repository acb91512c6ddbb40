#!/usr/bin/env bash
# make bench-functions: how fast each function starts and how much memory it
# holds, run the way its container runs it.
#
# Builds the binaries the images would hold (deploy-check.sh --build-only:
# the templates' build.sh, static and -trimpath for the pure-Go ones), then
# starts each function BENCH_RUNS times (default 5) against throwaway
# PostgreSQL and MinIO servers (bin/stack exec) and reports, per function,
# the median and maximum of: the time from exec to the first 200 on /livez
# (what the watchdog's readiness probe asks), the time to the answer of a
# first real request, and the resident memory 3 s after start and 3 s after
# that request (TestFunctionStartup in cmd/internal/deploytest). Targets for
# the five pure-Go functions: start under 100 ms, idle under 30 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOPROXY=https://proxy.golang.org
runs=${BENCH_RUNS:-5}

bash cmd/scripts/deploy-check.sh --build-only
[ -x bin/stack ] || go build -o bin/ ./cmd/stack
bin/stack exec -- env BENCHWRAP_FUNCTION_BIN_DIR="$PWD/build/bin" BENCHWRAP_BENCH_RUNS="$runs" \
  go test -tags integration -count=1 -timeout 30m -run '^TestFunctionStartup$' -v ./cmd/internal/deploytest/

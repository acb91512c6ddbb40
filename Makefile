# Quick start: `make run` (the whole backend on this machine) and `make test`.
SHELL := /bin/bash
export GOPROXY ?= https://proxy.golang.org
GO ?= go
MODULES := ./shared/... ./cmd/... ./loadgen/... $(addsuffix /...,$(addprefix ./functions/,register login refresh logout presign list analyze report results))
TEST_FLAGS ?= -p 2 -timeout 20m -tags integration

.PHONY: deps build test test-go test-security lint run bench bench-loadtest bench-functions bench-analyze bench-analyze-shapes bench-report bench-queue bench-results deploy-check clean test-pgbouncer

deps:
	@bash cmd/scripts/deps.sh

build: deps
	$(GO) build -o bin/ ./cmd/... ./loadgen/cmd/...

# Every test, against real PostgreSQL and MinIO started for the run; then
# the end-to-end auth, storage and analysis tests once more with the
# functions behind PgBouncer in transaction pooling mode.
test: build
	bin/stack exec -- $(MAKE) --no-print-directory test-go
	bin/stack exec --pgbouncer -- $(MAKE) --no-print-directory test-pgbouncer

# The auth, storage and analysis tests of the end-to-end package (not
# its attack tests, which do not touch the pool): one more pass, pooled.
PGBOUNCER_TESTS := AuthRoutesEverywhere|RegisterValidation|UploadDownloadList|StorageAuthAndNames|UsersCannotReachEachOther|UploadIsAnalysed|SameNameTwoUsers|ReplayedEventsAndReupload|OutageLosesNothing|QueueDeliveriesWhileLogins|MetricsScrape
test-pgbouncer:
	$(GO) test $(TEST_FLAGS) -run '^Test($(PGBOUNCER_TESTS))$$' ./cmd/internal/localstack/

test-go: lint
	$(GO) test $(TEST_FLAGS) $(MODULES)

# The attack tests of docs/security.md (issue 15), by name; `make test`
# runs them with everything else.
test-security: build
	bin/stack exec -- $(GO) test $(TEST_FLAGS) -run Security $(MODULES)

lint:
	@out=$$(gofmt -l shared cmd loadgen functions template 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags integration $(MODULES)

run: build
	bin/stack

bench: build
	bin/stack exec -- $(GO) test -run '^$$' -bench 'Gateway|RefreshHops|UploadToTable' -benchtime 5s ./cmd/internal/localstack/

# faas-cli build --shrinkwrap, then every image's Go build and tests, and
# the generated manifests in deploy/ checked against stack.yml.
deploy-check: deps
	@bash cmd/scripts/deploy-check.sh

# HDF5 to a committed PostgreSQL table for a 2,000,000-row profile, beside a
# bare pgx CopyFrom of the same table; peak RSS of the analyzer.
bench-analyze: build
	bin/stack exec -- bin/bench-analyze $(BENCH_ANALYZE_FLAGS)

# The analysis queue on a whole local stack: small files' PUT→table during a
# burst with a big file, throughput for 1/2/4 workers, login p99 under
# deliveries vs idle (docs/analysis-queue.md).
bench-queue: build
	bin/bench-queue $(BENCH_QUEUE_FLAGS)

# Time, rows/s and peak RSS of both modes on each input shape (plain,
# jitter, duplicates, gaps, xcc, gpu, all series, merged 4 nodes) at
# 20k, 200k and 2M energy rows; corrected/compat and the time per row's
# growth. BENCH_SHAPES_FLAGS='-shapes jitter,dups -sizes 5000,80000'.
bench-analyze-shapes: build
	bin/stack exec -- bin/bench-analyze -shapes all $(BENCH_SHAPES_FLAGS)

# The report page in headless Chromium on its own local stack: time to
# interactive of a 2,000,000-row job's page (cold and warm) and of a zoom,
# plus the browser tests, which save the screenshots in docs/img.
bench-report: build
	set -o pipefail; REPORT_LARGE_ROWS=2000000 REPORT_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -tags integration -count=1 -timeout 30m -v \
		-run '^TestReport' ./cmd/internal/reportbrowser/ 2>&1 | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|interactive|RESULT|analysed|generated|redrawn'

# p50/p99 of a 2000-point series request on a 2,000,000-row job (cold and
# warm, beside a 200,000-row job) and of job-list pages for 10,000 jobs.
bench-results: build
	bin/stack exec -- bin/bench-results $(BENCH_RESULTS_FLAGS)

# Start-up time and idle memory of each function binary.
bench-functions: build
	@bash cmd/scripts/bench-functions.sh

# bin/loadtest beside wrk and hey against one trivial local endpoint.
bench-loadtest: build
	bash cmd/scripts/bench-loadtest.sh

clean:
	rm -rf bin build

# Quick start: `make run` (the whole backend on this machine) and `make test`.
SHELL := /bin/bash
export GOPROXY ?= https://proxy.golang.org
GO ?= go
MODULES := ./shared/... ./cmd/... $(addsuffix /...,$(addprefix ./functions/,register login refresh presign list analyze))
TEST_FLAGS ?= -p 2 -timeout 20m -tags integration

.PHONY: deps build test test-go lint run bench bench-loadtest clean

deps:
	@bash cmd/scripts/deps.sh

build: deps
	$(GO) build -o bin/ ./cmd/...

# Every test, against real PostgreSQL and MinIO started for the run.
test: build
	bin/stack exec -- $(MAKE) --no-print-directory test-go

test-go: lint
	$(GO) test $(TEST_FLAGS) $(MODULES)

lint:
	@out=$$(gofmt -l shared cmd functions template 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags integration $(MODULES)

run: build
	bin/stack

bench: build
	bin/stack exec -- $(GO) test -run '^$$' -bench . -benchtime 5s ./cmd/internal/localstack/

# bin/loadtest beside wrk and hey against one trivial local endpoint.
bench-loadtest: build
	bash cmd/scripts/bench-loadtest.sh

clean:
	rm -rf bin build

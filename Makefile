# streamcat: make test (what CI runs), make bench, make demo.
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: test vet unit bench demo demo-lib build postgres fmt

test: postgres vet unit

postgres:
	@if [ -z "$$STREAMCAT_TEST_DSN" ]; then ./scripts/ensure-postgres.sh; fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -timeout 12m ./...

bench: postgres
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./bench/

build:
	$(GO) build -o bin/ ./cmd/... ./examples/...

# The main job: stream a 1M-row table from a throwaway PostgreSQL to CSV.
demo: postgres
	$(GO) build -o bin/streamcat ./cmd/streamcat
	./bin/streamcat --embedded --init scripts/demo.sql --progress always --stats -o demo.csv \
		"select * from demo order by id"
	@echo "demo.csv: $$(wc -l < demo.csv) lines; first rows:"; head -3 demo.csv

# The library example: session.Execute and the buffered Result.
demo-lib: postgres
	$(GO) run ./examples/demo

fmt:
	gofmt -w $$(git ls-files '*.go')

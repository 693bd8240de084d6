# streamcat: make test (what CI runs), make bench, make demo.
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: test vet unit bench peers demo demo-lib build postgres fmt

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

# streamcat against pgx, scany, sqlx, GORM and bun (a nested module: the
# peers never enter streamcat's go.mod); see bench/README.md.
peers: postgres
	cd bench/peers && $(GO) run . -rows 200000 -rounds 5

build:
	$(GO) build -o bin/ ./cmd/... ./examples/...

# The main job: stream a 1M-row table from a throwaway PostgreSQL to CSV
# (126 MB), into a new temporary directory unless DEMO_OUT names the file.
DEMO_OUT ?=
demo: postgres
	$(GO) build -o bin/streamcat ./cmd/streamcat
	@out="$(DEMO_OUT)"; rm="rm $$out"; \
	if [ -z "$$out" ]; then dir="$$(mktemp -d "$${TMPDIR:-/tmp}/streamcat-demo.XXXXXX")"; out="$$dir/demo.csv"; rm="rm -r $$dir"; fi; \
	./bin/streamcat --embedded --init scripts/demo.sql --progress always --stats -o "$$out" \
		"select * from demo order by id" && \
	echo "wrote $$out: $$(wc -l < "$$out") lines, $$(du -h "$$out" | cut -f1); first rows:" && head -3 "$$out" && \
	echo "(remove it with: $$rm)"

# The library example: session.Execute and the buffered Result.
demo-lib: postgres
	$(GO) run ./examples/demo

fmt:
	gofmt -w $$(git ls-files '*.go')

# Silo developer tasks. Needs GNU make and Go; `make db` (a dependency of the
# targets that talk to MariaDB) runs .ci/mariadb-up to get a local server.

GO ?= go
BENCHTIME ?= 1s

# Go is installed in /usr/local/go/bin on Debian boxes without it in PATH.
ifeq ($(shell command -v $(GO) 2>/dev/null),)
export PATH := $(PATH):/usr/local/go/bin
endif

.DEFAULT_GOAL := build

.PHONY: run db test chaos fuzz bench bench-go bench-fleet load lint openapi-check console-screenshots build create-central-admin apidocs-vendor clean

run: db
	$(GO) run ./cmd/silo serve

db:
	.ci/mariadb-up

# Every test, then the fault tests (make chaos), which fit in CI's budget.
test: db
	$(GO) test -race -count=1 ./...
	$(GO) test -race -count=1 -tags chaos -timeout 10m ./internal/testsupport/chaos/

# Fuzzing: each target for FUZZTIME (Go fuzzes one target per invocation);
# plain `go test` (make test) runs the committed seed corpora.
FUZZTIME ?= 30s
FUZZFLAGS ?= -fuzzminimizetime=5s
FUZZ_TARGETS = internal/lib/token:FuzzVerify internal/lib/token:FuzzVerifySigned internal/lib/token:FuzzIssueVerify \
	internal/lib/token:FuzzTokenMutation tenantdb:FuzzValidIdentifiers provisioning:FuzzTenantValidation \
	router:FuzzTenantResolution router:FuzzRequestBodies router:FuzzLoginEmail router:FuzzRecordQuery
fuzz: db
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $(FUZZFLAGS) ./$$pkg; \
	done

# Fault tests: private MariaDB servers the tests stop, freeze and outlive, and
# a silo serve SIGKILLed mid-provisioning (about 2-3 minutes; needs the
# mariadb-server binaries; never touches the shared server).
chaos: db
	$(GO) test -race -count=1 -tags chaos -timeout 10m ./internal/testsupport/chaos/

# Every scenario of the performance targets (docs/BENCHMARKS.md), briefly,
# printed as one table. Each silo-load run appends a JSON line to BENCH_OUT;
# the table is printed from it at the end. The full figures:
#   make bench BENCH_BIG_TENANTS=10000 BENCH_DURATION=15s
# BENCH_CONN_MODES lists the connection modes of the 2,000-tenant row
# ("default" runs without -conn-mode; any other word is passed to
# silo-load as -conn-mode WORD). BENCH_FLEET is the fleet benchmark's
# command, run last; it appends its own rows to $(BENCH_OUT) as JSON lines
# (benchenv.Row, in internal/testsupport/benchenv) to join the table.
# BENCH_SERVERS_TENANTS tenants spread over BENCH_SERVERS database servers
# (BENCH_SERVER and private MariaDB servers silo-load starts), random
# traffic, a tenant connection cap of 50 per server; the full figure:
#   make bench BENCH_SERVERS_TENANTS=3000 BENCH_DURATION=15s
BENCH_DURATION ?= 5s
BENCH_CLIENTS ?= 32
BENCH_BIG_TENANTS ?= 1000
BENCH_MID_TENANTS ?= 2000
BENCH_CONN_MODES ?= default
BENCH_SERVERS ?= 3
BENCH_SERVERS_TENANTS ?= 300
BENCH_FLEET ?=
BENCH_OUT ?= bin/bench.jsonl
BENCH_SERVER ?= root@tcp(127.0.0.1:3306)/
BENCH_LOAD = bin/silo-load -server '$(BENCH_SERVER)' -clients $(BENCH_CLIENTS) -duration $(BENCH_DURATION) -json $(BENCH_OUT)
bench: db
	@mkdir -p bin && rm -f $(BENCH_OUT)
	$(GO) build -o bin/silo-load ./cmd/silo-load
	$(BENCH_LOAD) -scenario me -tenants 100 -conns-max 100
	$(BENCH_LOAD) -scenario app -tenants 100 -conns-max 100
	$(BENCH_LOAD) -scenario app -tenants $(BENCH_BIG_TENANTS) -dist zipf -conns-max 100
	@set -e; for mode in $(BENCH_CONN_MODES); do \
		flag=""; [ "$$mode" = default ] || flag="-conn-mode $$mode"; \
		echo "$(BENCH_LOAD) -scenario me -tenants $(BENCH_MID_TENANTS) -conns-max 50 $$flag"; \
		$(BENCH_LOAD) -scenario me -tenants $(BENCH_MID_TENANTS) -conns-max 50 $$flag; \
	done
	$(BENCH_LOAD) -scenario app -tenants $(BENCH_SERVERS_TENANTS) -servers $(BENCH_SERVERS) -conns-max 50
	$(BENCH_FLEET)
	@echo; bin/silo-load -table $(BENCH_OUT)

# The Go benchmarks (BenchmarkTenantMe, BenchmarkMiddleware, ...).
bench-go: db
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCHTIME) ./...

# The load tool: Silo's tenant plane against a bare baseline.
TENANTS ?= 100
CLIENTS ?= 32
DURATION ?= 15s
CONNS_MAX ?= 100
load: db
	$(GO) run ./cmd/silo-load -tenants $(TENANTS) -clients $(CLIENTS) -duration $(DURATION) -conns-max $(CONNS_MAX)

# The fleet migration benchmark: FLEET_TENANTS tenants, Silo's runner at
# concurrency 1/4/8 against a shell loop of the goose CLI; with
# FLEET_SERVERS=2, also the same number of tenants spread over the shared
# server and a private one (started and removed by the benchmark) against
# all on one server.
FLEET_TENANTS ?= 1000
FLEET_SERVERS ?= 1
bench-fleet: db
	$(GO) install github.com/pressly/goose/v3/cmd/goose@v3.29.0
	$(GO) run ./cmd/silo-bench-fleet -tenants $(FLEET_TENANTS) -servers $(FLEET_SERVERS) -goose "$$($(GO) env GOPATH)/bin/goose"

# gofmt, go vet, and the package layers of docs/ARCHITECTURE.md: which
# package may import which, no SQL in router or provisioning, no function over 80 lines
# outside cmd/ and tests (internal/testsupport/layout; make test
# runs it too).
lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi
	$(GO) vet ./...
	$(GO) test -count=1 ./internal/testsupport/layout/

# The served OpenAPI document, written without a database, linted (Redocly,
# Spectral), turned into the TypeScript client of examples/typescript, and
# examples/typescript/src/flow.ts type-checked against it. Needs Node.js
# >= 20.19 and npm; see examples/typescript/README.md.
openapi-check:
	.ci/openapi-check

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/silo ./cmd/silo

create-central-admin: db
	$(GO) run ./cmd/silo create-central-admin

# Re-vendors the API reference's viewer (Swagger UI, npm swagger-ui-dist) at
# the version and integrity pinned in internal/lib/apidocs/vendor.sh. Needs npm.
apidocs-vendor:
	internal/lib/apidocs/vendor.sh

clean:
	rm -rf bin

# The console's screenshots in docs/console/, taken by its browser tests.
console-screenshots: db
	SILO_E2E_SCREENSHOTS=docs $(GO) test -count=1 -run TestConsole ./internal/testsupport/browser/

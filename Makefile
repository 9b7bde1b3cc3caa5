# Silo developer tasks. Needs GNU make and Go; `make db` (a dependency of the
# targets that talk to MariaDB) runs .ci/mariadb-up to get a local server.

GO ?= go
BENCHTIME ?= 1s

# Go is installed in /usr/local/go/bin on Debian boxes without it in PATH.
ifeq ($(shell command -v $(GO) 2>/dev/null),)
export PATH := $(PATH):/usr/local/go/bin
endif

.DEFAULT_GOAL := build

.PHONY: run db test chaos fuzz bench bench-fleet load lint build create-central-admin clean

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

bench: db
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCHTIME) ./...
	$(GO) run ./cmd/silo-load -tenants 20 -clients 16 -duration 5s

# The load tool: Silo's tenant plane against a bare baseline.
TENANTS ?= 100
CLIENTS ?= 32
DURATION ?= 15s
CONNS_MAX ?= 100
load: db
	$(GO) run ./cmd/silo-load -tenants $(TENANTS) -clients $(CLIENTS) -duration $(DURATION) -conns-max $(CONNS_MAX)

# The fleet migration benchmark: FLEET_TENANTS tenants, Silo's runner at
# concurrency 1/4/8 against a shell loop of the goose CLI.
FLEET_TENANTS ?= 1000
bench-fleet: db
	$(GO) install github.com/pressly/goose/v3/cmd/goose@v3.29.0
	$(GO) run ./cmd/silo-bench-fleet -tenants $(FLEET_TENANTS) -goose "$$($(GO) env GOPATH)/bin/goose"

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

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/silo ./cmd/silo

create-central-admin: db
	$(GO) run ./cmd/silo create-central-admin

clean:
	rm -rf bin

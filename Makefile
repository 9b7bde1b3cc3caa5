# Silo developer tasks. Needs GNU make and Go; `make db` (a dependency of the
# targets that talk to MariaDB) runs .ci/mariadb-up to get a local server.

GO ?= go
BENCHTIME ?= 1s

# Go is installed in /usr/local/go/bin on Debian boxes without it in PATH.
ifeq ($(shell command -v $(GO) 2>/dev/null),)
export PATH := $(PATH):/usr/local/go/bin
endif

.DEFAULT_GOAL := build

.PHONY: run db test bench load lint build create-central-admin clean

run: db
	$(GO) run ./cmd/silo serve

db:
	.ci/mariadb-up

test: db
	$(GO) test -race -count=1 ./...

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

lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/silo ./cmd/silo

create-central-admin: db
	$(GO) run ./cmd/silo create-central-admin

clean:
	rm -rf bin

# crmd — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
DATA ?= ./crm-data
APT_PACKAGES := liblmdb-dev lmdb-utils libsqlite3-dev pkg-config
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: deps build run test bench clean

# Installs the C libraries crmd links against, only when they are missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build -c release --product crmd

# Until `crmd serve` lands, `make run` appends a burst to $(DATA)/log and verifies it.
run: build
	.build/release/crmd selftest --data $(DATA)
	.build/release/crmd status --data $(DATA)
	.build/release/crmd verify --data $(DATA)

test: deps
	swift build --build-tests
	swift test --skip-build

bench: deps
	swift build -c release --product crmd-bench
	.build/release/crmd-bench --output BENCHMARKS.md

clean:
	rm -rf .build

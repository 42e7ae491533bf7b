# crmd — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
DATA ?= ./crm-data
# libxml2: FoundationXML reads XLSX workbooks; tzdata: imports and reports count days in Asia/Tehran;
# chromium: the front desk's browser tests (Playwright drives Debian's Chromium, not its own download);
# postgresql: the shipper's tests run a private cluster of it.
APT_PACKAGES := liblmdb-dev lmdb-utils libsqlite3-dev libxml2-dev tzdata pkg-config socat chromium postgresql
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: deps build run demo test bench proof schemas fixtures docs format clean

# Installs the C libraries crmd links against, only when they are missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@python3 -c 'import jsonschema' 2>/dev/null || { \
		echo "installing: python3-jsonschema"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-jsonschema; }
	@python3 -c 'import playwright, pytest' 2>/dev/null || { \
		echo "installing: playwright pytest (PyPI)"; \
		python3 -m pip --version >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip; }; \
		python3 -m pip install -q playwright pytest 2>/dev/null || python3 -m pip install -q --break-system-packages playwright pytest; }

build: deps
	swift build -c release --product crmd

# Serves $(DATA) on $(DATA)/crmd.sock, and the front desk on http://$(WEB)/, until Ctrl-C (SIGINT
# drains and exits cleanly). The first time, a manager of the company gets a login, printed once.
# An empty $(DATA) first gets an offer to fill it with a synthetic company (on a terminal; answer
# ahead with DEMO=yes or DEMO=no), so a newcomer sees reports at once.
DEMO ?= ask
# Where the front desk (crmd web) listens, beside the daemon.
WEB ?= 127.0.0.1:8080
run: build
	@if [ ! -f $(DATA)/log/data.mdb ]; then \
		answer=$(DEMO); \
		if [ "$$answer" = ask ]; then \
			if [ -t 0 ]; then read -r -p "crmd: $(DATA) is empty. Fill it with a synthetic company first (3 years, 8,000 customers, under a minute)? [Y/n] " answer; \
			else answer=no; echo "crmd: $(DATA) is empty; 'make demo' (or 'make run DEMO=yes') fills it with a synthetic company to explore"; fi; \
		fi; \
		case "$$answer" in [nN]*) ;; *) .build/release/crmd demo --data $(DATA) --customers 8000 --years 3 ;; esac; \
	fi
	@.build/release/crmd serve --data $(DATA) & serve=$$!; \
	trap 'kill $$serve $$web 2>/dev/null; wait' INT TERM; \
	for i in $$(seq 300); do [ -S $(DATA)/crmd.sock ] && break; sleep 0.1; done; \
	.build/release/crmd web --data $(DATA) --listen $(WEB) & web=$$!; \
	.build/release/crmd web welcome --data $(DATA) --url http://$(WEB)/login; \
	wait $$serve; kill $$web 2>/dev/null; wait

# A realistic synthetic company history in an empty $(DATA): three years, 8,000 customers
# (about 200,000 events).
demo: build
	.build/release/crmd demo --data $(DATA) --customers 8000 --years 3

# The Swift suites, then the schema files against the code and, with python-jsonschema, every
# event the suites wrote and every request example in docs/ against the schema files.
test: deps
	swift build --build-tests
	rm -rf .build/test-events
	CRMD_EVENT_DUMP=$(CURDIR)/.build/test-events swift test --skip-build
	.build/debug/crmd schemas --check schemas
	.build/debug/crmd-fuzz Fuzz/corpus
	rm -rf .build/fixture-data && mkdir -p .build/fixture-data/log && cp Tests/Fixtures/product-v1-log/data.mdb .build/fixture-data/log/
	.build/debug/crmd replay --data .build/fixture-data --format jsonl > .build/test-events/fixture-product-v1.jsonl
	python3 tools/validate_schemas.py --events .build/test-events --min-events 200
	python3 -m pytest -q -p no:cacheprovider Tests/Browser

# Re-writes the checked-in logs that old schema versions must stay readable from.
fixtures:
	swift build --build-tests
	CRMD_WRITE_FIXTURES=1 swift test --skip-build --filter SchemaEvolutionTests/testWriteV1Fixture

# Re-writes docs/protocol.md's examples from a fresh daemon and docs/access.md from the access table.
docs:
	swift build --build-tests
	CRMD_WRITE_DOCS=1 swift test --skip-build --filter "ProtocolDocTests/testWriteProtocolDoc|AccessPolicyTests/testWriteAccessDoc"

# Re-renders schemas/ after a command or event changed.
schemas:
	swift build --product crmd
	.build/debug/crmd schemas --write schemas

bench: deps
	swift build -c release --product crmd
	swift build -c release --product crmd-bench
	.build/release/crmd-bench --output BENCHMARKS.md

# The promise under fire, against the real binary (about 40 minutes, most of it the sanitizer
# builds): the crash loop, faults (needs root for the tmpfs), the socket fuzzer, security,
# libFuzzer and the suite under TSan and ASan. Writes its table into BENCHMARKS.md.
# PROOF_SKIP="tsan asan libfuzzer" leaves parts out.
proof: deps
	swift build -c release --product crmd
	python3 proof/run.py --output BENCHMARKS.md

# Formats the Swift sources with the toolchain's swift-format (.swift-format: 120 columns, four
# spaces, layout only: no rule rewrites code).
format:
	swift-format format --configuration .swift-format --in-place --recursive Sources Tests Benchmarks Fuzz Package.swift

clean:
	rm -rf .build

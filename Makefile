# Two commands on a fresh machine:
#   make run    installs everything (venv, Python deps, Kafka 4.3.1 from Maven Central) and runs Steward
#   make test   installs everything and runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
KAFKA_VERSION ?= 4.3.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install kafka client-tools system run test test-unit test-integration lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) kafka system

# As root on a Debian-like machine: xfsprogs, for brokers' volumes of their own
# (STEWARD_BROKER_VOLUMES=loop|auto), and gocryptfs with fuse3, for encryption at rest
# (STEWARD_ENCRYPTION_AT_REST); elsewhere brokers keep plain, unencrypted data directories.
# prometheus-node-exporter serves each broker's node metrics (MSK's port 11002; without it the
# agent's built-in exporter does), and prometheus runs in the monitoring tests; chromium is the
# headless browser the console's tests drive through Playwright. postgresql is the store of a
# control plane on several hosts (STEWARD_DATABASE_URL); the tests start private clusters of it
# (tests/postgres.py).
SYSTEM_PACKAGES := xfsprogs gocryptfs fuse3 prometheus-node-exporter prometheus chromium postgresql curl
system:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		! { command -v mkfs.xfs && command -v gocryptfs && command -v fusermount3 && \
		command -v prometheus-node-exporter && command -v prometheus && \
		command -v chromium && command -v curl && ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1; then \
		apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; }; \
	fi

kafka: $(STAMP)
	$(BIN)/steward kafka install $(KAFKA_VERSION)

# aws-msk-iam-auth from Maven Central, for the IAM sign-in tests' Java clients (cached; the tests
# resolve it themselves when this has not run)
client-tools: $(STAMP)
	$(BIN)/python -c 'from steward.kafka.client_tools import aws_msk_iam_auth_libs as a; print(a())'

run: install
	$(BIN)/steward server

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: install client-tools
	$(BIN)/pytest -q -n 2 --dist loadfile tests/integration

# The fault-injection suite times detection and repair: it runs alone, after the rest, so that no
# other module's Kafka clusters compete with it for the CPU.
test: install client-tools lint
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=15 tests --ignore=tests/chaos
	$(BIN)/pytest -q tests/chaos

bench: install
	$(BIN)/python bench/create_cluster.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

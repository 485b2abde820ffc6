# Everything starts from a clean clone with only python3: `make test` builds the venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv browser run test sim bench proto up clean clean-data

venv: $(STAMP)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Whole stack + venue-sim; embedded NATS/Postgres (data in .data/) unless NATS_URL/DATABASE_URL set.
run: venv
	$(PY) -m shared.devstack run

test: venv browser
	$(VENV)/bin/pytest -q

# Browser tests drive Debian's Chromium (Playwright's own browser download is blocked here).
browser:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| echo "chromium could not be installed: browser tests will be skipped"

sim: venv
	$(PY) -m services.venue_sim

bench: venv
	@if [ -d benchmarks ]; then $(VENV)/bin/pytest -q benchmarks; \
	else echo "no benchmarks/ yet"; exit 1; fi

proto: venv
	$(PY) -m shared.contracts.proto_gen

# Demo secrets for compose come from the same generator as `make run`'s (files in .data/).
up: venv
	$(PY) -m shared.devstack compose-secrets
	docker compose up --build

clean:
	rm -rf .pytest_cache .hypothesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# The dev stack's data (embedded NATS/Postgres, demo credentials): only on purpose.
clean-data:
	rm -rf .data

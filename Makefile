# Everything starts from a clean clone with only python3: `make test` builds the venv first.
# Python 3.11, 3.12 or 3.13: `make test PYTHON=python3.13` (the venv keeps the interpreter it was
# made with; delete .venv to switch).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Kalshi's official SDK needs Python >= 3.13: it gets its own venv (tests/conformance drives the sim
# through it). The pin lives in one file; the stamp is rebuilt only when that file changes.
KALSHI_SDK_VENV := .venv-kalshi-sdk
KALSHI_SDK_PIN  := tests/conformance/kalshi_sdk_requirements.txt
KALSHI_SDK_STAMP := $(KALSHI_SDK_VENV)/.installed

.PHONY: venv browser compose-validator kalshi-sdk run test sim bench proto up clean clean-data

venv: $(STAMP)

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "trueup needs Python 3.11, 3.12 or 3.13; $(PYTHON) is older or missing (make ... PYTHON=python3.13)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Whole stack + venue-sim, supervised (deploy/devstack); embedded NATS/Postgres (data in .data/)
# unless NATS_URL/DATABASE_URL set. Prints the UI's login link once the API answers.
run: venv
	$(PY) -m deploy.devstack run

test: venv browser compose-validator kalshi-sdk
	$(VENV)/bin/pytest -q

# Browser tests drive Debian's Chromium (Playwright's own browser download is blocked here).
browser:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| echo "chromium could not be installed: browser tests will be skipped"

# docker-compose.yml is validated by `docker-compose config` (Debian's v1 package) even where no
# Docker engine runs: tests/test_compose.py.
compose-validator:
	@command -v docker-compose >/dev/null 2>&1 || apt-get install -y -qq docker-compose >/dev/null 2>&1 \
		|| echo "docker-compose could not be installed: the compose file's v1 validation will be skipped"

kalshi-sdk: $(KALSHI_SDK_STAMP)

# The first interpreter >= 3.13 that actually runs: pyenv's installs (its bare shims fail unless a
# version is activated), then python3.13/python3.14 on PATH. None: one line, and the suite skips.
$(KALSHI_SDK_STAMP): $(KALSHI_SDK_PIN)
	@py=""; \
	for c in $$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.1[3-9]*/bin/python3 2>/dev/null) \
	         python3.13 python3.14; do \
		if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 13))' >/dev/null 2>&1; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
		echo "kalshi-sdk: no Python >= 3.13 found (pyenv or python3.13 on PATH): Kalshi SDK conformance tests will skip"; \
		exit 0; \
	fi; \
	rm -rf $(KALSHI_SDK_VENV) && "$$py" -m venv $(KALSHI_SDK_VENV) \
		&& $(KALSHI_SDK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(KALSHI_SDK_PIN) \
		&& touch $(KALSHI_SDK_STAMP)

sim: venv
	$(PY) -m services.venue_sim

bench: venv
	@if [ -d benchmarks ]; then $(VENV)/bin/pytest -q benchmarks; \
	else echo "no benchmarks/ yet"; exit 1; fi

# proto/ and deploy/nats/permissions.conf, both generated from shared/contracts (channels.py).
proto: venv
	$(PY) -m shared.contracts.proto_gen

# Demo secrets for compose come from the same generator as `make run`'s (files in .data/).
up: venv
	$(PY) -m deploy.devstack compose-secrets
	docker compose up --build

clean:
	rm -rf .pytest_cache .hypothesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# The dev stack's data (embedded NATS/Postgres, demo credentials): only on purpose.
clean-data:
	rm -rf .data

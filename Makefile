PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# The locker's version is pinned so that `make lock` resolves the same way everywhere.
UV_VERSION ?= 0.13.9
LOCKS := requirements/base.txt requirements/dev.txt requirements/bench.txt requirements/build.txt
# Installs take exact, hash-checked versions from the lock, then the project itself
# without its dependencies (they came from the lock) and without fetching a build backend.
PIP_LOCKED := $(BIN)/pip install -q --require-hashes --no-deps
PIP_PROJECT := $(BIN)/pip install -q --no-deps --no-build-isolation

.PHONY: run test lint typecheck pytest openapi bench lock image-test ha-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements/base.txt requirements/build.txt pyproject.toml | $(BIN)/python
	$(PIP_LOCKED) -r requirements/build.txt -r requirements/base.txt
	$(PIP_PROJECT) -e .
	touch $@

$(STAMP): requirements/dev.txt requirements/build.txt pyproject.toml | $(BIN)/python
	$(PIP_LOCKED) -r requirements/build.txt -r requirements/dev.txt
	$(PIP_PROJECT) -e .
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/slaclock serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

openapi: $(STAMP)
	$(BIN)/slaclock openapi --output openapi/openapi.json

bench: $(STAMP)
	$(PIP_LOCKED) -r requirements/bench.txt
	$(BIN)/python -m benchmarks.run_all

# A pg_auto_failover pair (Debian: postgresql-15-auto-failover, pg-auto-failover-cli)
# behind two servers and two projection workers; the primary is killed under load.
ha-test: $(STAMP)
	$(BIN)/python -m tests.ha.scenario

# uv.lock is one resolution of pyproject.toml for every extra; the requirements/*.txt
# pip installs from are exported from it (with hashes), so they agree with each other.
# Versions already locked stay unless pyproject.toml excludes them; `make lock
# LOCK_FLAGS=--upgrade` takes the newest allowed versions of everything.
LOCK_FLAGS ?=
$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install -q uv==$(UV_VERSION)

lock: $(BIN)/uv
	$(BIN)/uv lock --quiet $(LOCK_FLAGS) --python 3.11
	$(BIN)/uv export --quiet --frozen --no-emit-project --format requirements-txt \
	  --output-file requirements/base.txt
	$(BIN)/uv export --quiet --frozen --no-emit-project --format requirements-txt \
	  --extra dev --output-file requirements/dev.txt
	$(BIN)/uv export --quiet --frozen --no-emit-project --format requirements-txt \
	  --extra dev --extra bench --output-file requirements/bench.txt
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')" \
	  | $(BIN)/uv pip compile --quiet $(LOCK_FLAGS) --universal --python-version 3.11 --generate-hashes \
	  --custom-compile-command 'make lock' --output-file requirements/build.txt -

# Builds the image with podman on a locally bootstrapped Debian base and checks it
# (non-root, health check, persistence, SIGTERM under load): tests/image/.
# Installs podman and debootstrap with apt-get if missing (root); see the README.
image-test: $(STAMP)
	$(BIN)/python -m tests.image.check_image

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache

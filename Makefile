# gql-auth developer commands. `make run` and `make test` work on a fresh clone:
# they create .venv and install the project on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after each install; pyproject.toml or the lock being newer means "install again".
INSTALLED := $(VENV)/.installed
# Exact versions of every runtime and dev dependency: installs are reproducible,
# while pyproject.toml keeps the lower bounds that library users resolve against.
LOCK := requirements.lock

HOST ?= 127.0.0.1
PORT ?= 8000
DOCS_PORT ?= 8001
PYTEST_ARGS ?=
# pytest-xdist workers: one per core (2 on CI); each test file runs whole on one worker.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

.DEFAULT_GOAL := help
.PHONY: help install lock run test test-fast lint format schema docs docs-build docs-reference bench graphiql-assets codegen resource-server clean

help:
	@echo "make run      migrate the database (SQLite by default) and serve on http://$(HOST):$(PORT)/graphql"
	@echo "make test     run every test in parallel: unit, api, db (SQLite, MariaDB, PostgreSQL), system (extra pytest options: make test PYTEST_ARGS=-x)"
	@echo "make test-fast  the edit loop: tests/unit and tests/api only, in parallel (PYTEST_ARGS works too)"
	@echo "make lint     ruff check, ruff format --check, mypy, import-linter"
	@echo "make lock     re-pin requirements.lock from pyproject.toml's dependencies (needs PyPI)"
	@echo "make format   sort imports and format with ruff"
	@echo "make schema   write schema.graphql from the code"
	@echo "make docs     serve the documentation site on http://$(HOST):$(DOCS_PORT) (reloads on edits)"
	@echo "make docs-build  check the generated reference pages and build the site strictly into site/"
	@echo "make docs-reference  write docs/reference/ (settings, errors, CLI, GraphQL, webhook events) from the code"
	@echo "make bench    load-test gql-auth vs REST, fastapi-users and a bare ASGI app (~3 min; not part of test)"
	@echo "make graphiql-assets  re-copy the pinned GraphiQL/React browser builds into gql_auth/web/graphiql/static"
	@echo "make codegen  regenerate the Apollo example's typed documents after schema.graphql changes"
	@echo "make resource-server  run examples/resource-server against GQL_AUTH_URL (default $(GQL_AUTH_URL))"
	@echo "make clean    remove .venv, caches and build output (keeps the database and secret file)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(INSTALLED): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -c $(LOCK) -e ".[dev]"
	touch $@

# uv resolves for every platform and Python >= 3.11 (--universal), so one lock
# serves Linux servers, macOS laptops and CI alike.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv>=0.4"
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--quiet -o $(LOCK)

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/gql-auth migrate
	$(BIN)/gql-auth serve --host $(HOST) --port $(PORT)

test: $(INSTALLED)
	$(PYTEST) $(PYTEST_ARGS)

test-fast: $(INSTALLED)
	$(PYTEST) tests/unit tests/api $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(INSTALLED)
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

schema: $(INSTALLED)
	$(BIN)/gql-auth export-schema --output schema.graphql

# The reference pages are generated from the code and committed; docs-build fails when
# they are stale (so does tests/unit/test_reference_docs.py), and on any broken link.
docs-reference: $(INSTALLED)
	$(BIN)/python scripts/reference_docs.py

docs: $(INSTALLED)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr $(HOST):$(DOCS_PORT)

docs-build: $(INSTALLED)
	$(BIN)/python scripts/reference_docs.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench:
	bash bench/run.sh

graphiql-assets:
	scripts/graphiql-assets.sh

codegen:
	cd examples/apollo-client && npm ci --ignore-scripts && npm run codegen

# The Node.js service that verifies gql-auth's ES256/RS256 tokens (JWKS and introspection).
GQL_AUTH_URL ?= http://$(HOST):$(PORT)
resource-server:
	cd examples/resource-server && npm ci --ignore-scripts && GQL_AUTH_URL=$(GQL_AUTH_URL) npm start

clean:
	rm -rf $(VENV) build dist site *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

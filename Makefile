# Stemvault. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck format bench graphql-schema lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Two hash-locked sets: `make run` installs only what the portal runs (requirements.lock); the
# targets that test, lint, type-check or benchmark add the development tools on top
# (requirements-dev.lock, the same versions plus the `dev` extra). Each set has its own stamp,
# so `make run` after `make test` installs nothing and `make test` after `make run` adds only
# the development tools.
$(BIN)/.installed-runtime: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Stemvault needs Python 3.11")'
	@echo "Installing the runtime packages into $(VENV) (first run only)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	@echo "  $$(grep -c '^[a-z0-9_.-]*==' requirements.lock) packages installed."
	@touch $@

$(BIN)/.installed-dev: requirements-dev.lock $(BIN)/.installed-runtime
	@echo "Installing the development tools into $(VENV)..."
	@$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $@

# Quiet by design: one line per step, then runportal's single "ready at" line once the server
# answers. The details are in var/ (var/seed_demo.log, var/mail/).
run: $(BIN)/.installed-runtime ## Migrate, seed the demo, serve on 127.0.0.1:$PORT with a worker
	@echo "Migrating the database..."
	@DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --no-input --verbosity 0
	@echo "Seeding the demo (details in var/seed_demo.log)..."
	@DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --log "$${VAR_DIR:-var}/seed_demo.log"
	@echo "Starting the server and a worker..."
	@DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runportal --port $(PORT)

test: $(BIN)/.installed-dev ## Run the test suite (SQLite, embedded worker, local storage unless configured)
	$(BIN)/python -m pytest

lint: $(BIN)/.installed-dev ## ruff lint and format check, and the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/.installed-dev ## Apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(BIN)/.installed-dev ## mypy with django-stubs
	$(BIN)/mypy portal renderer bench stripe_server

bench: $(BIN)/.installed-dev ## Run the benchmarks (python -m bench)
	$(BIN)/python -m bench

graphql-schema: $(BIN)/.installed-runtime ## Rewrite the checked-in GraphQL schema (portal/site/schema.graphql)
	$(BIN)/python manage.py export_schema portal.site.graphql:schema --path portal/site/schema.graphql

# The dev set is resolved first (keeping the versions already locked); the runtime set is then
# resolved under it as a constraint, so both files pin the same version of every shared package.
lock: ## Re-resolve requirements-dev.lock and requirements.lock from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --constraint requirements-dev.lock -o requirements.lock

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var

# Stemvault. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck format bench lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Stemvault needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

run: $(BIN)/.installed ## Migrate, seed the demo, serve on 127.0.0.1:$PORT with a worker
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --no-input
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Stemvault is starting at http://127.0.0.1:$(PORT)/"
	@echo "  Demo logins (password: stemvault-demo): ada, ben (artists), cora (curator), sam (staff)"
	@echo ""
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runportal --port $(PORT)

test: $(BIN)/.installed ## Run the test suite (SQLite, embedded worker, local storage unless configured)
	$(BIN)/python -m pytest

lint: $(BIN)/.installed ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed ## Apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(BIN)/.installed ## mypy with django-stubs
	$(BIN)/mypy portal renderer bench stripe_server

bench: $(BIN)/.installed ## Run the benchmarks (python -m bench)
	$(BIN)/python -m bench

lock: ## Re-resolve requirements.lock from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var

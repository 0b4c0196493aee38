# The two commands of the README: `make run` and `make test`. Both set up .venv first when needed:
# `make run` with what running needs (the package, its sandbox extra, the sandbox page's npm
# packages), `make test` (and `make setup`) with the test tools too. `make test` is lint, the whole
# suite on SQLite, then the tests that use a database again on a throwaway PostgreSQL server
# (`make test-pg` alone: tests/conftest.py, tests/pgserver.py).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-pg lint setup npm bench clean

# the package (editable) and the sandbox extra
$(BIN)/intercept-bot: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sandbox]'
	touch $@

# the same and the test tools
$(VENV)/.test-tools: $(BIN)/intercept-bot
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

npm:
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --no-audit --no-fund && touch node_modules/.package-lock.json; fi

setup: $(VENV)/.test-tools npm

# Without Webex credentials (WEBEX_BOT_TOKEN neither in the environment nor in ./.env), the local demo:
# the bot against a Webex emulator, with a browser page to use it (bot/demo.py).
run: $(BIN)/intercept-bot npm
	@if $(BIN)/python -c 'import os, sys; from dotenv import dotenv_values; \
		sys.exit(0 if (os.environ.get("WEBEX_BOT_TOKEN") or dotenv_values(".env").get("WEBEX_BOT_TOKEN") or "").strip() else 1)'; \
	then exec $(BIN)/intercept-bot serve $(ARGS); \
	else exec $(BIN)/intercept-bot demo $(ARGS); fi

lint: setup
	$(BIN)/ruff check bot cards webex_emulator tests bench setup.py
	$(BIN)/mypy

test: lint
	INTERCEPT_TEST_DATABASE=sqlite $(BIN)/pytest
	INTERCEPT_TEST_DATABASE=postgresql $(BIN)/pytest

test-pg: setup
	INTERCEPT_TEST_DATABASE=postgresql $(BIN)/pytest

# the benchmarks (bench/), not tests: one Markdown table; needs wrk (apt-get install wrk)
bench: setup
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build

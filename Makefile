# The two commands of the README: `make run` and `make test`. Both set up .venv first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint setup clean

$(BIN)/intercept-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/intercept-bot
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --no-audit --no-fund && touch node_modules/.package-lock.json; fi

# Without Webex credentials (WEBEX_BOT_TOKEN neither in the environment nor in ./.env), the local demo:
# the bot against a Webex emulator, with a browser page to use it (bot/demo.py).
run: setup
	@if $(BIN)/python -c 'import os, sys; from dotenv import dotenv_values; \
		sys.exit(0 if (os.environ.get("WEBEX_BOT_TOKEN") or dotenv_values(".env").get("WEBEX_BOT_TOKEN") or "").strip() else 1)'; \
	then exec $(BIN)/intercept-bot serve $(ARGS); \
	else exec $(BIN)/intercept-bot demo $(ARGS); fi

lint: setup
	$(BIN)/ruff check bot cards webex_emulator tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Kefu — two commands: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,ml]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kefu migrate
	$(BIN)/kefu content sync
	$(BIN)/kefu demo
	$(BIN)/kefu serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench,ml]'
	$(BIN)/python bench/desk.py

clean:
	rm -rf $(VENV) kefu.db kefu.db-wal kefu.db-shm .pytest_cache .mypy_cache .ruff_cache

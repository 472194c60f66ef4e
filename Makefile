# OrderLoom — `make run` and `make test` each install what they need first.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test check bench fmt clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/orderloom db upgrade
	$(BIN)/orderloom demo --orders 300
	@echo "Serving on http://$(HOST):$(PORT)  (docs: http://$(HOST):$(PORT)/docs)"
	@echo "Console: http://$(HOST):$(PORT)/console  (sign in with the tenant, user and password printed above)"
	$(BIN)/orderloom serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest

check: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/inventory.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/scaleout.py
	$(BIN)/python bench/fulfilment.py
	$(BIN)/python bench/returns.py

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

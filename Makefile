# Two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: test demo bench lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install when pyproject.toml changes; the stamp keeps repeated runs fast.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# The demo needs the package alone (its origin server is the standard library's).
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2

demo: $(VENV)/.installed-demo
	$(BIN)/sse-replay demo

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/run.py

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

# Fuzz Cassette.load: atheris (libFuzzer) when it installs, hypothesis otherwise. An hour by
# default; `make fuzz FUZZ_SECONDS=60` for a minute. See tests/fuzz/fuzz_load.py.
FUZZ_SECONDS ?= 3600
.PHONY: fuzz
fuzz: $(VENV)/.installed-test
	-$(BIN)/python -m pip install -q atheris
	$(BIN)/python tests/fuzz/fuzz_load.py --seconds $(FUZZ_SECONDS)

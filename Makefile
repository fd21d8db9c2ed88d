# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test fuzz check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Bytecode written now: where PYTHONDONTWRITEBYTECODE is set (many containers), every start
	@# would otherwise compile the package again (about 0.06 s of each cold start).
	$(BIN)/python -m compileall -q emulator > /dev/null
	@touch $(STAMP)

run: $(STAMP)  ## serve ./nodes.yaml on http://127.0.0.1:8080 with hot reload
	$(BIN)/emulator serve

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest

# A longer fuzz campaign than `make test` runs: FUZZ_EXAMPLES cases per target, a fresh seed
# each run (printed by hypothesis on a failure; FUZZ_SEED=N repeats one).
FUZZ_EXAMPLES ?= 300
FUZZ_SEED ?= $(shell date +%s)
fuzz: $(STAMP)  ## a longer schemathesis + hypothesis campaign; prints how many cases it tried
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest tests/fuzz -q \
		-p no:cacheprovider --hypothesis-seed=$(FUZZ_SEED)

check: $(STAMP)  ## lint and type-check
	$(BIN)/ruff check emulator tests bench
	$(BIN)/ruff format --check emulator tests bench
	$(BIN)/mypy

bench: $(STAMP)  ## benchmarks; prints figures
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .emulator .pytest_cache .mypy_cache .ruff_cache

# The README's two commands are `make run` and `make test`; .ci/run calls `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run demo test test-fast lint format bench clean

# The real-browser test drives Debian's chromium (never a downloaded browser).
CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: the CPU wheel on this machine (unpinned pulls a multi-GB CUDA build)
	$(BIN)/pip install -q torch==2.13.0
	# llama.cpp built portable (no -march=native: a native build died with "Illegal instruction"
	# on this VM) and never from a cached wheel that may have been built native
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q --no-cache-dir -c constraints.txt llama-cpp-python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,llm]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/imr-assist demo --if-missing

run: demo
	$(BIN)/streamlit run app.py

$(CHROMIUM):
	@echo "Installing Debian's chromium for the real-browser test (tests/e2e)..."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	  || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
	  || (echo "Could not install chromium: run 'apt-get install chromium' as root, then make test." && exit 1)

# The shared-ledger tests start a real PostgreSQL server (Debian's postgresql, never a download;
# tests/pg.py runs initdb and pg_ctl from /usr/lib/postgresql/<version>/bin).
POSTGRES_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb) /usr/lib/postgresql/15/bin/initdb)

$(POSTGRES_INITDB):
	@echo "Installing Debian's postgresql for the shared-ledger tests (tests/pg.py)..."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql \
	  || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql) \
	  || (echo "Could not install postgresql: run 'apt-get install postgresql' as root, then make test." && exit 1)

test: install $(CHROMIUM) $(POSTGRES_INITDB)
	$(BIN)/python -m pytest -m "not trials and not e2e"
	# the slowest, as their own step: the SIGKILL crash trials and the real browser
	$(BIN)/python -m pytest -m "trials or e2e"

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not e2e and not trials"

lint: install
	$(BIN)/ruff check src tests app.py bench
	$(BIN)/ruff format --check src tests app.py bench
	$(BIN)/mypy src

format: install
	$(BIN)/ruff format src tests app.py bench
	$(BIN)/ruff check --fix src tests app.py bench

# The scale bench at 1M passages takes over an hour on 2 cores:
# `make bench SCALE_SIZES=10000,100000` for the quick one.
SCALE_SIZES ?= 10000,100000,1000000

# Each benchmark is a module of the bench package, run from the repository root.
bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.retrieval
	$(BIN)/python -m bench.drafting
	$(BIN)/python -m bench.app
	$(BIN)/python -m bench.scale --sizes $(SCALE_SIZES)

clean:
	rm -rf $(VENV) .imr-assist .pytest_cache .mypy_cache .ruff_cache

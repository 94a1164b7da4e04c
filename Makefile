# Two commands set everything up on a fresh machine:
#   make serve   install into .venv, build the index from corpus/ if needed, serve on 127.0.0.1:8000
#   make test    install with the dev extras (and Debian's Chromium for the browser tests, when missing), run every test
# Each step runs only when its inputs changed (stamp files in .venv/).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch must be installed before sentence-transformers, or pip pulls CUDA.
TORCH  := torch==2.13.0
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test install index lint clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

index: install
	$(BIN)/rag ingest

serve: index
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

system-packages:
	@.ci/system-packages

test: $(VENV)/.installed-dev system-packages
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check rag tests bench
	$(BIN)/ruff format --check rag tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) indexes/default indexes/.builds indexes/.*.lock

# The two commands of the README: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# Models load from installed packages only; nothing is ever fetched from a model hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

# Browser tests drive Debian's chromium with Playwright (never `playwright install`) and scan
# pages with axe-core from npm. Both are installed here when missing.
CHROMIUM ?= /usr/bin/chromium
AXE_VERSION := 4.14.1
AXE := .cache/npm/node_modules/axe-core/axe.min.js
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser-deps build run test lint eval calibrate bench scale clean

install: $(VENV)/.installed

# torch is installed first and pinned: a CPU wheel of 2.13.0 is cached on our machines, while
# an unpinned torch (pulled in by sentence-transformers) would fetch a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

browser-deps: $(CHROMIUM) $(AXE)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

$(AXE):
	command -v npm >/dev/null || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends npm)
	npm install --silent --no-save --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_VERSION)

build: install
	$(BIN)/faqbot build

run: build
	$(BIN)/faqbot serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot tests
	$(BIN)/mypy

test: lint browser-deps
	$(BIN)/pytest

eval: install
	$(BIN)/faqbot eval

calibrate: install
	$(BIN)/faqbot calibrate

bench: install
	$(BIN)/faqbot bench

# minutes: builds HNSW over a million synthetic vectors (not part of make test)
scale: install
	$(BIN)/faqbot scale

clean:
	rm -rf $(VENV) .cache test-output index/current index/builds index/.current-*

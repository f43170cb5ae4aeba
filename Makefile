# toplab: `make lab` opens the lab, `make test` runs every test. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
TEST_JOBS ?= 2
HOST   ?= 127.0.0.1

ifeq ($(origin CC),default)
CC      := gcc
endif
CFLAGS  := -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE
PROGRAMS := $(patsubst c_programs/%.c,c_programs/bin/%,$(wildcard c_programs/*.c))

.PHONY: help lab test test-heavy build venv clean lint bench record test-kernels book test-book

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "toplab needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian/Ubuntu run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json  # no news toast
	@touch $@

venv: $(STAMP) ## create .venv and install the package with its dependencies

BOOK_STAMP := $(VENV)/.installed-book
$(BOOK_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -q -e '.[book]'
	@touch $@

c_programs/bin/%: c_programs/%.c $(wildcard c_programs/*.h)
	@mkdir -p c_programs/bin
	$(CC) $(CFLAGS) -o $@ $<

build: $(PROGRAMS) ## build the C test programs into c_programs/bin/

# The start page's language: `make lab LANG=ko` or `LANG=en` chooses; otherwise the locale decides
# (LC_ALL, then LC_MESSAGES, then LANG, as for any program): ko_KR.UTF-8 and other ko* give ko, anything else en.
LAB_LOCALE := $(if $(filter command line,$(origin LANG)),$(LANG),$(firstword $(LC_ALL) $(LC_MESSAGES) $(LANG)))
LAB_LANG   := $(if $(filter ko ko_% ko.% ko@%,$(LAB_LOCALE)),ko,en)
# LANG=ko or en is a language, not a locale: the lab itself then runs in C.UTF-8
LAB_ENV    := $(if $(filter command line,$(origin LANG)),$(if $(filter ko en,$(LANG)),LANG=C.UTF-8,),)

lab: venv build ## open JupyterLab on the start page, in Korean if the locale is ko_* (LANG=ko or en chooses)
	@echo "toplab: starting JupyterLab on the $(LAB_LANG) start page; open the URL with the token that it prints below"
	$(LAB_ENV) $(VENV)/bin/jupyter lab $(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser) --ServerApp.ip=$(HOST) --ServerApp.port=$(PORT) \
	  --ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/$(LAB_LANG)/00-start-here.ipynb \
	  $(if $(filter 0,$(shell id -u)),--allow-root,)

book: venv build $(BOOK_STAMP) ## execute every notebook here (fast mode) and build the static site into build/book/site (BOOK_ARGS=...)
	$(PY) -m tools.book.build $(BOOK_ARGS)

test: venv build ## build everything, then run the test suite: a parallel part, then the serial tests alone (about 5 min; CI also runs test-heavy, test-book, test-kernels)
	@rc=0; \
	echo "toplab: tests that can share the machine, $(TEST_JOBS) at a time"; \
	$(PY) -m pytest -q -rs -n $(TEST_JOBS) -m "not serial and not book and not heavy" $(PYTEST_ARGS) || rc=1; \
	echo "toplab: tests that run alone (machine-wide settings, cgroups, timing; tests/conftest.py SERIAL_MODULES)"; \
	$(PY) -m pytest -q -rs -m "serial and not book and not heavy" $(PYTEST_ARGS) || rc=1; \
	exit $$rc

test-heavy: venv build ## the tests that need the whole machine: a real JupyterHub with five users, JupyterLab in Chromium, the overcommit stress test (about 2.5 min)
	$(PY) -m pytest -q -rs -m "heavy and not book" $(PYTEST_ARGS)

test-book: book ## build the book, then check every page of it in Chromium (tests/test_book.py)
	$(PY) -m pytest -q -rs -m book

test-kernels: venv build ## boot Debian's 6.1 and 6.12 kernels under qemu and run the claim checks in each (about 100 s; MATRIX_ARGS="--only 6.1 --claims ID")
	$(PY) -m tools.kernels.matrix $(MATRIX_ARGS)

lint: venv ## ruff over the package, tests, tools and benchmarks
	$(VENV)/bin/ruff check kernel_helpers tests tools bench

bench: venv build ## measure the lab next to top: table + bench/results/*.json (BENCH_ARGS=--quick)
	$(PY) -m bench.run $(BENCH_ARGS)

record: venv build ## record the traces shown where there is no /proc (kernel_helpers/data/*.json)
	$(PY) -m kernel_helpers.recordings record

clean: ## remove built programs, caches and the venv
	rm -rf c_programs/bin $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

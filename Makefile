# The template's own commands. The two that matter:
#   make quickstart   set up, bake a project with defaults, run its flow, serve it and print a prediction
#   make test         the template's test suite (what CI runs)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
TEMPLATE_PROJECT := {{cookiecutter.project_slug}}
LOCK := requirements-dev.lock
# torch from its own index (TORCH=cpu, cu126, ...); TORCH_INDEX= (empty) uses pip's configured index or mirror
TORCH ?= cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/$(TORCH)

.PHONY: setup quickstart test test-fast test-medium bench lint docs lock clean

setup: $(VENV)/.installed  ## virtualenv: torch 2.13.0 from its index, then the hash-checked lock; checked; wrk
	@# wrk drives the serving benchmark and soak test (tests/test_serving_soak.py fails without it, saying so)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
		|| echo "wrk is missing and could not be installed here (needs root and apt-get): install it to run the serving tests"

$(VENV)/.installed: $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q pip==25.3
	$(PY) -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip check
	$(PY) -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '2.13.0' else 'torch was replaced: ' + torch.__version__)"
	touch $@

lock: setup  ## re-resolve requirements-dev.lock and every generated project's lock (UPGRADE=1: newer releases)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PY=$(abspath $(PY)) bash scripts/lock.sh

quickstart: setup  ## bake with defaults, run the flow, serve, print a prediction
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/quickstart.sh

test: setup  ## the full template test suite
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/test.sh

test-fast: setup  ## bake + hooks + generated unit tests, no flow runs
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/test.sh -m "not e2e"

test-medium: setup  ## everything but the modules that train several times (-m "not slow")
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/test.sh -m "not slow"

bench: setup  ## time bake, flow, serve-ready and first prediction
	source scripts/env.sh && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/quickstart.py $(foreach ref,$(BASELINE),--baseline-ref $(ref))

# NO_MKDOCS_2_WARNING=1: without Material for MkDocs' end-of-life banner (its fixes continue until May 2027)
docs: setup  ## the documentation site (mkdocs.yml, docs/) into build/site, --strict: a warning fails it
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

lint: setup  ## lint the template's own code
	$(VENV)/bin/ruff check hooks tests benchmarks scripts

clean:
	rm -rf build .pytest_cache

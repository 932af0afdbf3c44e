# The template's own commands. The two that matter:
#   make quickstart   set up, bake a project with defaults, run its flow, serve it and print a prediction
#   make test         the template's test suite (what CI runs)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
TEMPLATE_PROJECT := {{cookiecutter.project_slug}}
LOCK := $(TEMPLATE_PROJECT)/constraints.txt

.PHONY: setup quickstart test test-fast test-medium bench lint clean

setup: $(VENV)/.installed  ## virtualenv with the pinned stack (CPU torch first)

$(VENV)/.installed: requirements-dev.txt $(TEMPLATE_PROJECT)/requirements.txt $(TEMPLATE_PROJECT)/requirements-dev.txt $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q pip==25.3
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements-dev.txt -c "$(LOCK)"
	$(PY) -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 'torch was replaced: ' + torch.__version__)"
	touch $@

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

lint: setup  ## lint the template's own code
	$(VENV)/bin/ruff check hooks tests benchmarks

clean:
	rm -rf build .pytest_cache

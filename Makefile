# Two commands for a fresh machine (see README):
#   make demo   sets up .venv and runs the main job on the embedded default
#   make test   sets up .venv and passes the tests
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# lerobot 0.6.1 needs Python >= 3.12; find one even when a pyenv shim hides it.
PYTHON312 ?= $(shell ./.ci/find-python312)

.PHONY: venv demo test

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[dev,serve]"
	@touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) -m latent_mdp.sb3.demo

test: venv
	$(VENV)/bin/ruff check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

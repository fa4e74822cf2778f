# 企业管家助手 — the two commands are `make run` and `make test`; both do all set-up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
MODEL := models/butler.tar.gz
TRAINING_INPUTS := config.yml bot/domain.yml $(shell find bot/data bot/jieba_dict bot/aspect_examples bot/components -type f -not -name '*.pyc' 2>/dev/null)
export DATABASE_URL ?= sqlite:///$(CURDIR)/var/butler.db

.PHONY: help setup venv db train run test lint types validate test-bot bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: venv db train  ## everything `run` and `test` need: venv, database, demo data, model

venv: $(VENV)/.installed  ## create .venv with Python 3.10 and install the project

$(VENV)/.installed: pyproject.toml
	@PY=$$(scripts/find_python310.sh) && { [ -x $(BIN)/python ] || $$PY -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip wheel
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

db: venv  ## migrate the database and import the demo knowledge base and registry (idempotent)
	$(BIN)/butler db upgrade
	$(BIN)/butler kb import knowledge/demo
	@if $(BIN)/butler registry --help >/dev/null 2>&1; then $(BIN)/butler registry import appeals/demo/registry_demo.csv; fi

train: venv $(MODEL)  ## train the Rasa model if it is missing or stale

$(MODEL): $(TRAINING_INPUTS) | $(VENV)/.installed
	$(BIN)/rasa train --config config.yml --domain bot/domain.yml --data bot/data --out models --fixed-model-name butler

run: setup  ## serve the assistant: Rasa REST channel on :5005, actions in-process (ACTION_SERVER=1: on :5055)
	scripts/serve.sh

test: setup  ## lint, type-check, validate the bot, run every test suite
	scripts/test.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: venv
	$(BIN)/mypy

validate: venv
	$(BIN)/rasa data validate --config config.yml --domain bot/domain.yml --data bot/data

test-bot: train  ## test stories against the trained model
	$(BIN)/rasa test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out var/rasa-test-results

bench: setup  ## answer quality and latency benchmarks; writes docs/benchmarks.md
	$(BIN)/python bench/run_all.py

clean:  ## remove the virtualenv, models and local databases
	rm -rf $(VENV) models var

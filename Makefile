# modqa: `make up` runs the whole system, `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml client/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' -e ./client
	@touch $(STAMP)

install: $(STAMP) ## create the virtualenv with the services, the client and the dev tools

up: install ## run Kafka, PostgreSQL, the four services and the demo until Ctrl-C
	$(PY) -m tools.stack up

down: ## stop everything `make up` started
	@if [ -x $(PY) ]; then $(PY) -m tools.stack down; else echo "nothing to stop"; fi

test: install ## unit, contract, integration and end-to-end tests (starts its own Kafka and PostgreSQL)
	$(PY) -m pytest tests -q

test-unit: install ## only the tests that need no broker or database
	$(PY) -m pytest tests/unit tests/contracts -q

test-integration: install ## tests against a real Kafka and PostgreSQL
	$(PY) -m pytest tests/integration -q

test-e2e: install ## the four services running end to end
	$(PY) -m pytest tests/e2e -q

lint: install ## ruff (lint and format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: install ## format the code and apply safe lint fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench-estimates: install ## the estimators proven by simulation: bias, coverage, plan vs uniform
	$(PY) -m bench.estimates

bench-escalation: install ## escalation batch throughput: baseline vs all rules vs slow webhooks (own PostgreSQL)
	$(PY) -m bench.escalation_throughput

bench-audit: install ## audit: 50 auditors claim/verdict for 60 s vs a bare insert endpoint; Kafka ingest batched vs per message
	$(PY) -m bench.audit

chaos: install ## 100,000 decisions under SIGKILLs, broker and PostgreSQL restarts, a rebalance; invariants checked
	$(PY) -m tools.chaos --decisions 100000 --rate 400 --kills 24 --broker-restarts 3 --postgres-restarts 1

dashboards: install ## regenerate the Grafana dashboards' JSON from tools/dashboards/
	$(PY) -m tools.dashboards

bench-sampler: install ## sampler vs raw consumer rate, transactional vs at-least-once, peak memory (~10 min)
	$(PY) -m bench.sampler run
	$(PY) -m bench.sampler_parts

bench-poison: install ## sampler rate with 1% malformed decisions vs a clean topic; every one dead-lettered (~4 min)
	$(PY) -m bench.sampler_poison

schemas: install ## export the event JSON Schemas to docs/schemas/
	$(PY) -m tools.export_schemas

clean: down ## remove the virtualenv, caches and local data
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install up down test test-unit test-integration test-e2e lint fmt schemas dashboards chaos clean bench-estimates bench-escalation bench-audit bench-sampler bench-poison

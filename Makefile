# diamond-monitor: every entry point a user or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.stamp-requirements
KAFKA_LIBS_STAMP := .cache/kafka/.stamp-libs
MODEL := artifacts/model/model.joblib

.PHONY: help setup venv kafka-libs prometheus-bin train broker broker-stop broker-status test test-unit \
        test-integration lint typecheck demo bench chaos clean k8s-check

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV_STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11+"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

venv: $(VENV_STAMP) ## Create .venv and install the packages (idempotent)

$(KAFKA_LIBS_STAMP): infra/kafka/pom.xml | $(VENV_STAMP)
	$(PY) -m infra.kafka fetch

kafka-libs: $(KAFKA_LIBS_STAMP) ## Resolve the Apache Kafka broker jars into .cache/kafka (idempotent)

prometheus-bin: ## Install Prometheus/promtool from Debian packages when missing
	@bash infra/prometheus/install.sh

setup: venv kafka-libs ## Everything the demo and the tests need

$(MODEL): $(VENV_STAMP) model/*.py drift/*.py drift/sequential/*.py data/diamonds.csv
	$(PY) -m model train

train: $(VENV_STAMP) ## Train the model, write the artifact and register it as champion (artifacts/registry)
	$(PY) -m model train

broker: setup ## Start the local Kafka broker in the background (default 127.0.0.1:9092)
	$(PY) -m infra.kafka start

broker-stop: ## Stop the local Kafka broker started by `make broker`
	@if test -x $(PY); then $(PY) -m infra.kafka stop; else echo "no virtualenv: nothing to stop"; fi

broker-status: ## Is the local broker up? (exit 0 ready, 1 not answering, 3 not running)
	@$(PY) -m infra.kafka status

test: setup prometheus-bin $(MODEL) ## Run the whole test suite (unit, integration on a real broker, promtool)
	$(PY) -m pytest

test-unit: venv ## Run the unit tests only (no broker)
	$(PY) -m pytest -m "not integration and not prometheus"

test-integration: setup $(MODEL) ## Integration tests on a real broker started by the test session
	$(PY) -m pytest -m integration

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy model drift producer consumer retrainer common infra demo bench

k8s-check: venv ## Render and validate every Kubernetes kustomization offline (infra/k8s)
	$(PY) -m infra.k8s generate --check
	$(PY) -m infra.k8s check

demo: setup $(MODEL) ## Run the main job: broker, consumer, producer story, live view, report
	$(PY) -m demo

bench: setup $(MODEL) ## Benchmarks on the real local broker; writes bench/results/latest.json
	$(PY) -m bench

chaos: setup $(MODEL) ## Fault-injection runs (about 40 min); writes tests/chaos/results/latest.json
	$(PY) -m tests.chaos

clean: ## Remove caches, artifacts and outputs (keeps .venv and broker jars)
	rm -rf artifacts demo-output .pytest_cache .ruff_cache .mypy_cache

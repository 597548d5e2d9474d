# Two entry points for a new machine: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test unit integration typecheck soak docs bench bench-e2e bench-gateway clean

$(BIN)/salespulse: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/salespulse

## A local Kafka broker, the worker, the simulated sales floor, Prometheus and salespulse web; the TV's URL first (Ctrl-C stops all).
demo: venv
	$(BIN)/salespulse demo

## Unit tests, type check, the wheel in a fresh environment, then integration tests on a real local Kafka broker.
test: venv
	$(BIN)/python -m pytest tests/unit -q
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest tests/packaging tests/integration -q

unit: venv
	$(BIN)/python -m pytest tests/unit -q

integration: venv
	$(BIN)/python -m pytest tests/integration -q

typecheck: venv
	$(BIN)/python -m mypy

## The SIGKILL fault tests RUNS times (default 20), each on a fresh seed it prints; for whoever touches streams/.
RUNS ?= 20
soak: venv
	$(BIN)/python tests/soak.py --runs $(RUNS)

## Regenerate what comes from the code: reference docs, and the demo's rules and dashboards.
docs: venv
	$(BIN)/salespulse schema --out docs/schema
	$(BIN)/salespulse metrics > docs/metrics.md
	$(BIN)/salespulse --config examples/demo.yaml alerts build --out deploy/prometheus/rules/salespulse.rules.yml
	$(BIN)/salespulse --config examples/demo.yaml dashboards build --out deploy/grafana

bench: venv
	$(BIN)/python bench/run.py

## The worker on a backlog beside a bare consumer, Faust and Quix Streams (bench/e2e.py; takes minutes).
bench-e2e: venv bench/quix/.venv/bin/python
	$(BIN)/python bench/e2e.py --out bench/e2e-results.json

## The webhook gateway beside a bare aiohttp handler on a local broker (bench/gateway.py).
bench-gateway: venv
	$(BIN)/python bench/gateway.py

bench/quix/.venv/bin/python: bench/quix/requirements.txt
	$(PYTHON) -m venv bench/quix/.venv
	bench/quix/.venv/bin/pip install --quiet -r bench/quix/requirements.txt
	touch $@

clean:
	rm -rf $(VENV) bench/quix/.venv *.egg-info .pytest_cache .mypy_cache

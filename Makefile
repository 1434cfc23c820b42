# Two commands for a new user: `make report` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA ?= data/sample
AS_OF ?=
# make lab PORT=8890: JupyterLab on another port (default: Jupyter's own choice, 8888 or the next free)
PORT ?=

SPARK_STAMP := $(VENV)/.spark-stamp
# CI runs the Spark engine's equality tests; a normal `make test` does not install Spark.
TEST_DEPS := setup $(if $(filter true,$(CI)),spark,)

.PHONY: setup spark report test lab validate bench lint format sample clean

$(STAMP): requirements.lock pyproject.toml
	@echo ">> creating $(VENV) from requirements.lock (about a minute on a new machine)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name cs-metrics --display-name "cs-metrics (Python 3.11)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	@echo ">> installing the optional Spark engine from requirements-spark.lock (needs Java 17)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-spark.lock
	@touch $(SPARK_STAMP)

spark: $(SPARK_STAMP)

report: setup
	$(BIN)/cs-metrics report monthly --data $(DATA) $(if $(AS_OF),--as-of $(AS_OF),)

test: $(TEST_DEPS)
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

lab: setup
	JUPYTER_PATH=$(CURDIR)/$(VENV)/share/jupyter $(BIN)/jupyter lab --notebook-dir=notebooks $(if $(PORT),--port=$(PORT) --ServerApp.port_retries=0,) $(if $(shell [ "$$(id -u)" = 0 ] && echo root),--allow-root,)

validate: setup
	$(BIN)/cs-metrics validate $(DATA)

# make bench (every part) or make bench BENCH=kpis (parts: kpis report sample scaling core);
# never run by CI. See docs/performance.md.
bench: setup
	$(BIN)/python benchmarks/run.py $(if $(BENCH),--part $(BENCH),)

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

sample: setup
	$(BIN)/cs-metrics sample --out data/sample --force

clean:
	rm -rf $(VENV) .pytest_cache

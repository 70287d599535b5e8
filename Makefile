# Two commands on a fresh machine with Python 3.11+:
#   make demo   run the main job on the embedded default (sandbox + local warehouses)
#   make test   lint and run the whole test suite (every tier; what CI runs)
#   make test-fast / make test-slow   the quick tier (under 2 minutes) / the slow one (`slow` marker)
#   make airflow   the DAGs in a real Airflow UI (airflow standalone, no Docker); README "Three ways to run"
# Both create the virtualenv .venv at the repository root when it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The BigQuery emulator lives in its own virtualenv (its pins clash with Airflow's and fakesnow's).
VENV_BQ := .venv-bq
# The product is installed into .venv (editable); include/ is on the path for the sandbox and the dev tools.
export PYTHONPATH := $(CURDIR)/include
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv demo airflow test test-fast test-slow lint lock sandbox clean chromium

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(PY) -m uv pip install --quiet --python $(PY) -r requirements.lock
	$(PY) -m uv pip install --quiet --python $(PY) --no-deps -e .
	touch $@

$(VENV_BQ)/.installed: requirements-bq.lock $(VENV)/.installed
	test -x $(VENV_BQ)/bin/python || $(PYTHON) -m venv $(VENV_BQ)
	$(PY) -m uv pip install --quiet --python $(VENV_BQ)/bin/python -r requirements-bq.lock
	touch $@

venv: $(VENV)/.installed $(VENV_BQ)/.installed

demo: venv
	$(PY) -m genesys_devtools.demo

# The DAGs in a real Airflow UI (airflow standalone, no Docker) against the sandbox and the local warehouses;
# prints the URL and the logins. PORT=8080 by default.
PORT ?= 8080
airflow: venv
	$(PY) -m genesys_devtools.standalone --port $(PORT)

# Every tier on every core: the end-to-end tests are spread over the workers and a worker that runs dry
# takes tests from a busy one (worksteal), so one long DAG test does not leave a core idle at the end.
XDIST := -n auto --dist worksteal

test: venv chromium
	$(PY) -m ruff check .
	$(PY) -m pytest $(XDIST)

test-fast: venv
	$(PY) -m pytest $(XDIST) -m "not slow"

test-slow: venv chromium
	$(PY) -m pytest $(XDIST) -m slow

# Debian's chromium for the evidence page's browser test (Playwright drives it; no browser download).
# Installed with apt when missing and running as root; otherwise a hint, and that one test skips.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq chromium; \
	else echo "chromium is missing: 'sudo apt-get install chromium' (the browser test skips without it)"; fi

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

sandbox: venv
	$(PY) -m genesys_sandbox --port 8765

lock:
	$(PY) -m uv pip compile --python-version 3.11 requirements.txt requirements-dev.txt -o requirements.lock

clean:
	rm -rf $(VENV) $(VENV_BQ) var

# Two commands do all the set-up on a fresh machine:
#   make run    installs into .venv and opens the app on the embedded demo data
#   make test   installs the test requirements too and runs the tests
# Point the app at your own data with MUSER_MUSE_ROOT=/path/to/MuSE (and
# MUSER_OMG_ROOT=/path/to/OMG-Emotion) in the environment of `make run`.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint bench demo-corpus clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m muser_core app --port $(PORT)

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-dev
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

demo-corpus: $(VENV)/.installed-dev
	$(PY) scripts/make_demo_corpus.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache

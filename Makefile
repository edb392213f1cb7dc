# make run  — install what is missing, migrate, seed the demo, serve on 127.0.0.1:8000
#             with an embedded Celery worker (SQLite + filesystem broker).
# make test — install what is missing (Python packages; PostgreSQL, Redis and Chromium
#             from Debian), start PostgreSQL and Redis on loopback, run every check.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip --disable-pip-version-check -q
HOST ?= 127.0.0.1
PORT ?= 8000

export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export HF_HOME ?= $(CURDIR)/var/hf-home

.PHONY: run test lint

# torch first, pinned to the CPU wheel on local disk: any range it does not satisfy
# would pull a multi-GB CUDA build.
$(VENV)/.installed-base: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base
	$(PIP) install -e ".[test]"
	touch $@

# A private key in the var folder, made once, which settings read when SECRET_KEY is
# unset: with DEBUG off nothing starts on the public development key.
run: $(VENV)/.installed-base
	mkdir -p "$${RANKWISE_VAR_DIR:-var}"
	key="$${RANKWISE_VAR_DIR:-var}/secret-key"; test -s "$$key" || (umask 077 && \
	  $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > "$$key")
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo
	$(PY) -m config.embedded --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy annotate api training config

test: $(VENV)/.installed-test
	bash tests/run_suite.sh

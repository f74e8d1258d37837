# The two commands: `make drill` (set up, bring the lab up, drill it) and `make test` (set up,
# bring the lab up, run lint, types, unit and fault tests). Both are idempotent: with nothing
# changed, the set-up takes seconds.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := docker.io debootstrap restic rclone openssh-client python3-venv ca-certificates
PYTEST_ARGS ?=

.PHONY: setup system docker venv lab-up lab-status lab-down lab-reset drill test lint unit faults bench

setup: system docker venv

system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "[setup] installing Debian packages:" $$missing; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -E"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

docker: system
	@lab/ensure-docker.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "[setup] creating the virtualenv $(VENV) with the project and its dev tools"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
	  | { grep -v '^WARNING: Location' || true; }; test $${PIPESTATUS[0]} -eq 0
	@touch $@

lab-up: setup
	@$(VENV)/bin/drill-lab up

lab-status: venv
	@$(VENV)/bin/drill-lab status

lab-down: venv
	@$(VENV)/bin/drill-lab down

lab-reset: venv
	@$(VENV)/bin/drill-lab reset

drill: lab-up
	$(VENV)/bin/pytest features/ $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

faults: lab-up
	$(VENV)/bin/pytest tests/faults $(PYTEST_ARGS)

test: lab-up lint
	$(VENV)/bin/pytest tests/ $(PYTEST_ARGS)

bench: lab-up
	$(PY) bench/restore_verify.py

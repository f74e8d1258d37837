# The two commands: `make drill` (set up, bring the lab up, drill it) and `make test` (set up,
# bring the lab up, run lint, types, unit and fault tests). Both are idempotent: with nothing
# changed, the set-up takes seconds.
SHELL := /bin/bash
# Python may cache the checkout's compiled modules (__pycache__/, ignored by git): a pytest that
# starts without them spends about 1 s more compiling the engine and the steps
unexport PYTHONDONTWRITEBYTECODE
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := docker.io debootstrap restic rclone openssh-client python3-venv ca-certificates shellcheck
# Node.js and npm only where no npm answers (a distribution's nodejs may already bundle npm)
NODE_PACKAGES := nodejs npm
# headless Chromium for the report's browser test (make test only)
BROWSER_PACKAGES := chromium chromium-driver
ALLURE_DIR := tools/allure
PYTEST_ARGS ?=

.PHONY: setup system node node-packages browser docker venv allure lab-up lab-status lab-down lab-reset drill \
        report test lint unit faults bench lowest

setup: system docker venv allure

# $(call apt_install,packages): install those of the Debian packages that are missing
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "[setup] installing Debian packages:" $$missing; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -E"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system:
	$(call apt_install,$(APT_PACKAGES))

node:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory node-packages

node-packages:
	$(call apt_install,$(NODE_PACKAGES))

browser:
	$(call apt_install,$(BROWSER_PACKAGES))

allure: $(ALLURE_DIR)/node_modules/.installed

$(ALLURE_DIR)/node_modules/.installed: $(ALLURE_DIR)/package.json $(ALLURE_DIR)/package-lock.json
	@$(MAKE) --no-print-directory node
	@echo "[setup] installing Allure 3 (npm, pinned by $(ALLURE_DIR)/package-lock.json)"
	@cd $(ALLURE_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

docker: system
	@lab/ensure-docker.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml lab/pyproject.toml
	@echo "[setup] creating the virtualenv $(VENV) with the project and its dev tools"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]' -e ./lab 2>&1 \
	  | { grep -v '^WARNING: Location' || true; }; test $${PIPESTATUS[0]} -eq 0
	@touch $@

# HOSTS=N adds N workspace hosts (ws01..) for scale drills: `make lab-up HOSTS=16`
lab-up: setup
	@$(VENV)/bin/drill-lab up $(if $(HOSTS),--hosts $(HOSTS))

lab-status: venv
	@$(VENV)/bin/drill-lab status

lab-down: venv
	@$(VENV)/bin/drill-lab down

lab-reset: venv
	@$(VENV)/bin/drill-lab reset

# the drill's exit code is kept (0 verified, 1 not compliant, 2 could not run); the report is
# built whatever it was
drill: lab-up
	@status=0; report=0; $(VENV)/bin/pytest features/ $(PYTEST_ARGS) || status=$$?; \
	$(VENV)/bin/drill-evidence report || report=$$?; \
	[ $$status -ne 0 ] || status=$$report; exit $$status

report: venv allure
	$(VENV)/bin/drill-evidence report

# the shell programs the suite runs on hosts (drills/scripts), and our own shell
SHELL_SCRIPTS := drills/scripts/*.sh lab/ensure-docker.sh .ci/run lab/images/host/files/usr/local/sbin/borg-job

lint: venv system
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	shellcheck $(SHELL_SCRIPTS)

unit: venv
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

faults: lab-up browser
	$(VENV)/bin/pytest tests/faults $(PYTEST_ARGS)

# the fault tests of different lab hosts side by side (one xdist group per host:
# tests/faults/conftest.py), then the lab tests that need the lab alone (whole drills, the object
# store, a stopped host: one group, one after another) beside the unit tests, which fill the
# other worker while those wait on the lab; both passes run, the exit code is the first failure's
TEST_WORKERS ?= 2
# every CI log shows where the time went: each pass's slowest tests (setup, call, teardown)
DURATIONS ?= --durations=25
test: lab-up browser lint
	@status=0; \
	$(VENV)/bin/pytest tests/faults -m "not alone" -n $(TEST_WORKERS) --dist loadgroup $(DURATIONS) $(PYTEST_ARGS) \
	  || status=$$?; \
	$(VENV)/bin/pytest tests/ -m "alone or not lab" -n $(TEST_WORKERS) --dist loadgroup $(DURATIONS) $(PYTEST_ARGS) \
	  || { [ $$status -ne 0 ] || status=$$?; }; \
	exit $$status

# the unit tests on the lowest versions pyproject.toml allows (tools/floors.py), in a virtualenv
# of their own: a floor that admits a version the suite cannot work with fails here. What needs the
# floors is the code that calls the dependencies: tests marked floors_irrelevant (the wheel's, which
# builds and installs the newest versions in a virtualenv of its own; those that run only shell
# helpers) prove nothing new here and already ran in `make test`, so they are left out
LOWEST ?= .venv-lowest
# files generated from a tool's output, checked current with the dev tools' versions in `make
# test`: pydantic 2.7 writes the inventory's JSON Schema otherwise (extra "additionalProperties")
GENERATED_WITH_DEV_TOOLS := tests/unit/test_inventory_reference.py::test_generated_files_are_current \
	tests/unit/test_inventory_reference.py::test_check_fails_on_a_stale_file
lowest: system
	@mkdir -p build && { python3 tools/floors.py plot ansible paramiko s3 && python3 tools/floors.py --project lab/pyproject.toml; } > build/lowest.txt
	@test -x $(LOWEST)/bin/python || python3 -m venv $(LOWEST)
	@echo "[lowest] installing the project with its floors:" $$(tr '\n' ' ' < build/lowest.txt)
	@$(LOWEST)/bin/pip install -q --disable-pip-version-check -c build/lowest.txt '.[plot,ansible,paramiko,s3]' ./lab \
	  'hypothesis>=6.100,<7' 'jsonschema>=4.18,<5' 2>&1 | { grep -v '^WARNING: Location' || true; }; test $${PIPESTATUS[0]} -eq 0
	$(LOWEST)/bin/python -m pytest tests/unit -p no:cacheprovider -q -n $(TEST_WORKERS) -m "not floors_irrelevant" \
	  $(DURATIONS) $(foreach t,$(GENERATED_WITH_DEV_TOOLS),--deselect $(t))

bench: lab-up
	$(PY) bench/restore_verify.py
	$(PY) bench/fleet.py --hosts 16 --workers 4 --large 48 --large-workers 8
	$(PY) bench/collect.py   # collection at 1,000, 10,000 and 50,000 jobs (no lab)

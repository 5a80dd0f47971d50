# Two entry points for users and CI: `make deploy-local` (the main job, offline) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup synth deploy-local test test-fast lint dist bench clean

# What the offline run needs (`make deploy-local`): the app, the library, crhelper, trustme, and the Lambda runtime's
# boto3 and runtime interface client for the offline driver's Lambda-like process. No lint, type or test tools.
$(VENV)/.offline: requirements.txt requirements-offline.txt lambda/requirements.txt pyproject.toml ccs_offline/lambda-runtime.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-offline.txt
	rm -rf $(VENV)/lambda-runtime
	$(PY) -m pip install --quiet --target $(VENV)/lambda-runtime -r ccs_offline/lambda-runtime.txt
	touch $@

# Everything `make test` needs: the offline run's packages plus the lint, type and test toolchain.
$(VENV)/.installed: $(VENV)/.offline requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

synth: setup
	npx cdk synth --quiet

# The main job, offline: installs only what it needs (see $(VENV)/.offline), synthesizes app.py, runs the lifecycle.
deploy-local: $(VENV)/.offline node_modules/.installed
	npx cdk synth --quiet
	$(PY) -m ccs_offline.deploy cdk.out

# Quality gates, then every test in parallel (pytest-xdist, work stealing), with coverage: unit, integration
# through the bundled asset (waiting mostly on the offline world's clock), fuzzing, and the wheel (which
# builds virtualenvs outside the checkout, waiting mostly on pip; `pytest -m wheel` runs that stage alone).
PYTEST_WORKERS ?= 3
test: setup lint
	npx cdk synth --quiet
	$(VENV)/bin/cfn-lint --non-zero-exit-code error --regions us-east-1 eu-west-1 -- cdk.out/*.template.json
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=15 \
		--cov --cov-report=term-missing:skip-covered --cov-fail-under=90

# The inner loop: unit and construct tests, a tenth of the property examples, in parallel, no coverage.
test-fast: setup
	CCS_TEST_PROFILE=dev $(PY) -m pytest -n 2 -q tests/unit

# mypy reads the package as the wheel installs it (the handler in lambda/ is its subpackage `ccs_handler`, a
# mapping mypy cannot follow in an editable install): errors name build/typecheck/cross_cluster_search/...,
# i.e. constructs/cross_cluster_search/... and, under ccs_handler/, lambda/...
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	rm -rf build/typecheck
	$(PY) -m pip install --quiet --no-deps --no-compile --target build/typecheck .
	cd build/typecheck && ../../$(PY) -m mypy --strict --config-file ../../pyproject.toml -p cross_cluster_search
	MYPYPATH=build/typecheck $(PY) -m mypy --strict ccs_offline app.py

# The wheel and the sdist users install (dist/cross_cluster_search-<version>-py3-none-any.whl and .tar.gz), checked
# with `twine check --strict` (metadata, the README renders). Needs no `make setup`: a bare virtualenv with only
# `build` and `twine`; `build` makes the sdist, then the wheel from that sdist (so the sdist is complete), with
# build isolation (setuptools only, the build-system of pyproject.toml).
DIST_VENV := build/dist-venv
DIST_TOOLS := build==1.6.1 twine==7.0.0
dist:
	rm -rf dist
	test -x $(DIST_VENV)/bin/python || python3 -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install --quiet $(DIST_TOOLS)
	$(DIST_VENV)/bin/python -m build --outdir dist .
	$(DIST_VENV)/bin/python -m twine check --strict dist/*

clean:
	rm -rf $(VENV) node_modules cdk.out build dist .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*

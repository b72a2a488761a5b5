# micropay-platform. See README.md: `make setup`, `make test`, `make render STACK=…`,
# `make preview STACK=…`, `make up STACK=…`, `make bench`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= development
STACKS := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
MICROPAY_CACHE ?= $(HOME)/.cache/micropay-platform
export MICROPAY_CACHE
# CLUSTER=local: preview/up/destroy/remove against the local cluster of `make cluster` (started if needed).
CLUSTER_DEP := $(if $(filter local,$(CLUSTER)),cluster)
CLUSTER_ENV := $(if $(filter local,$(CLUSTER)),KUBECONFIG=$(CURDIR)/build/cluster/kubeconfig)

.PHONY: setup python engine go-test test test-fast render render-all plan preview up destroy remove bench docs golden clean \
	cluster-build cluster cluster-down

setup: python engine

python: $(VENV)/.installed

# Re-installs only when requirements.txt changes; pip shows its own progress.
$(VENV)/.installed: requirements.txt
	@echo "==> Python virtualenv in $(VENV) (requirements.txt)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	@touch $@

# The Pulumi CLI, Python language host and provider plugins, built from Go modules into
# $(MICROPAY_CACHE) when no suitable `pulumi` is on PATH. Exit 3 means a piece the proxy
# refuses is missing: the script has said which and why, and everything else still works.
engine:
	@scripts/setup_engine.sh || { status=$$?; test $$status -eq 3 || exit $$status; \
	  echo "==> engine: continuing without the pieces named above (make render and the mock tests need none)"; }

# promtool and promql-selectors (Prometheus' PromQL parser) for the alert and dashboard tests, built
# from the pinned github.com/prometheus/prometheus module into $(MICROPAY_CACHE); a no-op once built.
.PHONY: promtool
promtool:
	@scripts/setup_promtool.sh

# Unit tests of the project's provider plugins (plugins/, a Go module), with the shared Go caches.
.PHONY: go-test
go-test:
	@echo "==> go vet + go test in plugins/"
	@cd plugins && ../scripts/go_env.sh go vet ./... && ../scripts/go_env.sh go test ./...

test: setup promtool go-test cluster-build
	$(PY) -m pytest

# The quick loop while editing: everything but the engine, cluster, promtool and checkov suites, on
# every core (the tests share no files; the cluster and engine suites run serially in `make test`).
SLOW_SUITES := test_engine test_cluster test_cluster_runbooks test_promtool test_checkov
test-fast: python
	$(PY) -m pytest -n auto $(foreach suite,$(SLOW_SUITES),--ignore=tests/$(suite).py)

render: python
	$(PY) -m tools.render $(STACK)

render-all: python
	@for stack in $(STACKS); do $(PY) -m tools.render $$stack || exit 1; done

# The committed render of every stack (tests/golden/, checked by tests/test_golden.py); run it when a change
# of objects is intended, then review and commit the diff (`python -m tools.golden <stack>` for one stack).
golden: python
	$(PY) -m tools.golden

# The release plan of a stack; FROM=<git ref or saved .json plan> describes the change since then
# instead; SAVE=<file>.json keeps the plan for a later FROM.
plan: python
	$(PY) -m tools.plan $(STACK) $(if $(FROM),--from $(FROM)) $(if $(SAVE),--save $(SAVE))

preview: setup $(CLUSTER_DEP)
	$(CLUSTER_ENV) scripts/pulumi_stack.sh $(STACK) preview --diff

up: setup $(CLUSTER_DEP)
	$(CLUSTER_ENV) scripts/pulumi_stack.sh $(STACK) up --yes

destroy: setup $(CLUSTER_DEP)
	$(CLUSTER_ENV) scripts/pulumi_stack.sh $(STACK) destroy --yes

remove: setup $(CLUSTER_DEP)
	$(CLUSTER_ENV) scripts/pulumi_stack.sh $(STACK) remove

bench: setup
	$(PY) -m benchmarks.run

docs: python
	$(PY) -m tools.config_reference

# A local Kubernetes control plane with simulated nodes (README "Local cluster").
cluster-build:
	scripts/cluster_build.sh

cluster: python cluster-build
	$(PY) -m tools.cluster up

cluster-down: python
	$(PY) -m tools.cluster down

clean:
	@test ! -d build/cluster || $(PY) -m tools.cluster down
	rm -rf build .pytest_cache .venv-checkov

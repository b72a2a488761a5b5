# micropay-platform: `make setup`, `make test`, `make render STACK=…`, `make preview STACK=…`, `make up STACK=…`
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= development
STACKS := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))

.PHONY: setup test render render-all clean

setup: $(VENV)/.installed

# Re-installs only when requirements.txt changes; pip shows its own progress.
$(VENV)/.installed: requirements.txt
	@echo "==> Python virtualenv in $(VENV) (requirements.txt)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	@touch $@

test: setup
	$(PY) -m pytest

render: setup
	$(PY) -m tools.render $(STACK)

render-all: setup
	@for stack in $(STACKS); do $(PY) -m tools.render $$stack || exit 1; done

clean:
	rm -rf build .pytest_cache

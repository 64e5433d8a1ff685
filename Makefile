# The commands a newcomer needs. Each creates the virtual environment (.venv) on first use.
#   make lab    learners: copy new labs into my-labs/ and open JupyterLab there
#   make demo   instructors: build releases, grade a sample cohort, print where every output is
#   make test   everyone: the whole test suite (lab QA harness included)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader runs tools (alembic, jupyter) by name: find the ones in the virtual environment.
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed

.PHONY: lab demo test browser clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0] + ". Install it, then run: make PYTHON=python3.11 $(MAKECMDGOALS)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned dependencies into $(VENV) (the first time takes a while: lab 15's language model runtime compiles from source)..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,genai]'
	@touch $(STAMP)

# The learner's JupyterLab reads labs/jupyter-learner/ as its config folder: no nbgrader menu,
# "Validate" or formgrader panels, no news pop-up. Instructors run `.venv/bin/jupyter lab` from the
# course folder as usual and keep formgrader. LAB_DIR is the learner's folder; LAB_ARGS passes
# extra options to JupyterLab (tests/test_learner_lab.py: --no-browser, a port, a token).
LEARNER_JUPYTER := $(abspath labs/jupyter-learner)
LAB_DIR ?= my-labs

lab: $(STAMP)
	$(BIN)/python -m labs.workspace release $(LAB_DIR)
	@# JupyterLab refuses root unless told; root is common in containers, so allow it only there.
	JUPYTER_CONFIG_DIR=$(LEARNER_JUPYTER) $(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

demo: $(STAMP)
	$(BIN)/autograder demo

# tests/test_verify_page.py opens the certificate verification page in Debian's Chromium through
# ChromeDriver. As root (CI, containers) they are installed here; otherwise install them yourself,
# or that one test fails and says how.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium and chromium-driver for the verification page's browser test..."; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }; \
	else \
		echo "Note: the browser test needs Chromium and ChromeDriver: sudo apt-get install chromium chromium-driver"; \
	fi

test: $(STAMP) browser
	@$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure, not a pass."; fi; \
	exit $$status

clean-venv:
	rm -rf $(VENV)

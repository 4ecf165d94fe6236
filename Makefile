# Two commands for a newcomer: `make demo` (set up, then run the main job on the embedded default)
# and `make test` (set up, then run the tests). Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := $(CURDIR)/var/demo
DEMO_ENV := OUTREACH_VAR_DIR=$(DEMO_DIR) OUTREACH_DATABASE_URL=sqlite:///$(DEMO_DIR)/outreach.sqlite3 \
	PREFECT_HOME=$(DEMO_DIR)/prefect PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
DEMO_SIZE ?= 20000

.PHONY: install demo test lint format bench clean

install: $(BIN)/outreach

$(BIN)/outreach: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install
	rm -rf $(DEMO_DIR)
	$(DEMO_ENV) $(BIN)/outreach demo --size $(DEMO_SIZE) --seed 2026

test: install
	PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 $(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info

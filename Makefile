# `make all`: set up from scratch, validate every layer, build the release and the site. `make test`: every test
# (what CI runs); `make check`: the editing loop, without the slow, browser and Spark tests.
VENV ?= .venv
BIN := $(VENV)/bin
# Extra flags, e.g. in CI: make all VALIDATE_FLAGS="--github --junit reports/validate.xml"
VALIDATE_FLAGS ?=
PYTEST_FLAGS ?=
# pytest-xdist: one worker a core, handed whole files in collection order (a module's fixtures made once)
PYTEST := $(BIN)/pytest -n auto --dist loadfile --no-loadscope-reorder

.PHONY: all setup validate build site test check lint export clean

all: validate build site

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

validate: setup
	$(BIN)/cbj-figures validate --all $(VALIDATE_FLAGS)
	$(BIN)/cbj-figures check-version
	$(BIN)/cbj-figures versions --check

build: setup
	$(BIN)/cbj-figures build

# The static site (annotated articles, charts, tables, fact-check, releases): open dist/site/index.html.
site: setup
	$(BIN)/cbj-figures site --out dist/site

test: setup
	$(BIN)/ruff check .
	$(PYTEST) $(PYTEST_FLAGS)

check: setup
	$(BIN)/ruff check .
	$(PYTEST) -m "not slow and not browser and not spark" $(PYTEST_FLAGS)

export: setup
	$(BIN)/cbj-figures schemas
	$(BIN)/cbj-figures export
	$(BIN)/cbj-figures dictionary

clean:
	rm -rf $(VENV) dist

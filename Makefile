# Comptoir: `make run` serves the back-office with demo data; `make test` runs the whole suite.
# Only Python 3.11+, git, make and Node.js (npm) are needed; everything else is installed here.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
VENDOR := src/comptoir/static/vendor
LOCALE := src/comptoir/locale
HOST ?= 127.0.0.1:8000

.PHONY: run test install assets messages lint format makemessages bench clean

run: install
	DEBUG=1 $(BIN)/comptoir migrate --noinput
	DEBUG=1 $(BIN)/comptoir demo
	DEBUG=1 $(BIN)/comptoir ensure_staff
	DEBUG=1 $(BIN)/comptoir runserver $(HOST)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

install: $(INSTALLED) assets messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python pyproject.toml requirements.txt requirements-dev.txt package.json package-lock.json
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end packages come from the npm registry; only the files the pages load are copied.
assets: $(INSTALLED)
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/htmx $(VENDOR)/bootstrap-icons/fonts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/bootstrap/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css $(VENDOR)/bootstrap-icons/
	cp node_modules/bootstrap-icons/font/fonts/* $(VENDOR)/bootstrap-icons/fonts/

# Compiled with Babel (pure Python), so GNU gettext is not needed to run or test.
messages: $(INSTALLED)
	$(BIN)/pybabel compile --use-fuzzy -d $(LOCALE) -D django --statistics 2>&1 | grep -v '^$$' || true

# For developers with GNU gettext: refresh both catalogues after adding strings.
makemessages: $(INSTALLED)
	cd src/comptoir && COMPTOIR_HOME=$(CURDIR) ../../$(BIN)/django-admin makemessages -l fr -l en --no-obsolete --settings=tests.settings --pythonpath=../..

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var

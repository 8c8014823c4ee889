# `make run` sets up and serves the site; `make test` runs the test suite.
# Only Python >= 3.12 is needed (pyenv honours .python-version).

PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lock check clean messages translations

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12 or newer is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.main: requirements/main.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/main.txt
	touch $@

$(VENV)/.dev: requirements/dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	touch $@ $(VENV)/.main

# Development: SQLite, local-memory cache, console email and SMS, demo GeoIP databases for the
# documentation address ranges (see /demo/ to pretend to be in Oslo, Sao Paulo or Sydney).
GEOIP_DIR := .geoip
# `PORT=8001 make run` serves on another port; the settings derive the WebAuthn origin from it.
PORT ?= 8000

# Translations: locale/<lang>/LC_MESSAGES/django.po (and djangojs.po, the WebAuthn script's).
# `make translations` refreshes the .po files from the code and templates after strings change;
# `make messages` compiles them (gettext's msgfmt); `manage.py i18n_check` fails on an unmarked
# template text or an untranslated or fuzzy message.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
MAKEMESSAGES := $(BIN)/python manage.py makemessages --no-obsolete --ignore=.venv --ignore=tests --ignore=bench \
  --ignore=node_modules --ignore=staticfiles $(foreach l,$(filter-out en,$(notdir $(wildcard locale/*))),-l $(l))

locale/%.mo: locale/%.po
	@command -v msgfmt >/dev/null || { echo "msgfmt is needed to compile the translations (apt-get install gettext)" >&2; exit 1; }
	msgfmt --check -o $@ $<

messages: $(MO_FILES)

translations: $(VENV)/.main
	$(MAKEMESSAGES)
	$(MAKEMESSAGES) -d djangojs
	$(BIN)/python manage.py i18n_check

# Without gettext the site still runs, in English only (the catalogues cannot be compiled).
run: $(VENV)/.main
	@if command -v msgfmt >/dev/null; then $(MAKE) -s messages; \
	  else echo "msgfmt not found (apt-get install gettext): the site runs in English only" >&2; fi
	test -f $(GEOIP_DIR)/demo-city.mmdb || DJANGO_DEBUG=true $(BIN)/python manage.py geoip_demo_db $(GEOIP_DIR)
	DJANGO_DEBUG=true PORT=$(PORT) GEOIP_CITY_DB=$${GEOIP_CITY_DB:-$(GEOIP_DIR)/demo-city.mmdb} \
	  GEOIP_ASN_DB=$${GEOIP_ASN_DB:-$(GEOIP_DIR)/demo-asn.mmdb} sh -c \
	  '$(BIN)/python manage.py migrate --noinput && exec $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)'

# axe-core for the accessibility checks of the browser tests, pinned by its package-lock.json.
AXE := tests/browser/axe

$(AXE)/node_modules/.package-lock.json: $(AXE)/package.json $(AXE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install axe-core for the browser tests (apt-get install npm)" >&2; exit 1; }
	npm ci --prefix $(AXE) --no-audit --no-fund

test: $(VENV)/.dev $(AXE)/node_modules/.package-lock.json messages
	$(BIN)/python manage.py test $(TESTS)

# Re-resolve the locked dependencies from pyproject.toml (pip-tools, with hashes).
lock: $(VENV)/.dev
	$(BIN)/pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --strip-extras -o requirements/main.txt pyproject.toml
	$(BIN)/pip-compile -q --generate-hashes --no-emit-index-url --no-emit-find-links --strip-extras --extra dev -o requirements/dev.txt pyproject.toml

check: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles $(AXE)/node_modules $(MO_FILES)

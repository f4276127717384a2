# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install run serve test chromium lint worker cron clean messages translations

$(BIN)/flask: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/flask

# SQLite under instance/, demo data for the 13 associations, served on 127.0.0.1.
run: install
	$(FLASK) crm migrate
	$(FLASK) crm seed-demo --if-empty
	$(FLASK) run --host $(HOST) --port $(PORT)

# The production server (gunicorn.conf.py): migrations first, as the owner
# (MIGRATION_DATABASE_URL). GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_THREADS override.
serve: install
	$(FLASK) crm migrate
	$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

# The whole suite (SQLite unless TEST_DATABASE_URL names a PostgreSQL database).
test: install chromium
	$(BIN)/pytest

# Browser tests drive Debian's chromium; Playwright never downloads a browser here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Background jobs on Redis (REDIS_URL): workers, and one process for the nightly schedule.
worker: install
	$(BIN)/rq worker crm --with-scheduler -w crm.worker.Worker --url "$(REDIS_URL)"

cron: install
	$(BIN)/rq cron crm.metrics.schedule --url "$(REDIS_URL)"

# Translations (docs/translating.md): extract the marked texts and merge them into every
# catalogue; then compile (the app also compiles a missing or older .mo when it starts).
messages: install
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _l --no-location --sort-output \
	  --project "Cluster Alliance CRM" --output-file crm/translations/messages.pot crm templates
	$(BIN)/pybabel update --input-file crm/translations/messages.pot --output-dir crm/translations \
	  --no-fuzzy-matching --ignore-obsolete --width 100

translations: install
	$(BIN)/pybabel compile --directory crm/translations --statistics

clean:
	rm -rf $(VENV) instance .pytest_cache

# Two commands for a newcomer: `make run` and `make test`. Everything else is for us.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: run test install migrate demo worker bench screenshots lint check messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Serve the demo on the embedded defaults (SQLite); a Celery worker with beat
# runs beside runserver on kombu's filesystem transport, so paying, accruing,
# releasing and cancelling unpaid orders happen the way they do in production.
# The worker's banner goes to its log too, and the demo sign-ins are printed again
# once the server answers, so they are the last thing on the screen.
RUN_ADDR ?= 127.0.0.1:8000
run: export DJANGO_DEBUG ?= true
run: export CELERY_BROKER_URL ?= filesystem://
run: $(STAMP)
	mkdir -p var/broker/processed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --site $(RUN_ADDR)
	$(BIN)/celery -A config worker -B --pool=solo --loglevel=INFO \
	    --logfile=var/worker.log >>var/worker.log 2>&1 & WORKER=$$!; \
	$(BIN)/python manage.py seed_demo --logins-only --when-up --site $(RUN_ADDR) & LOGINS=$$!; \
	trap 'kill $$WORKER $$LOGINS 2>/dev/null' EXIT INT TERM; \
	echo "Celery worker + beat: pid $$WORKER, log in var/worker.log"; \
	$(BIN)/python manage.py runserver $(RUN_ADDR)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

# Home, category, product, cart and checkout at 390 and 1280 px, zh-hans and en,
# taken by tests/browser in headless Chromium (apt-get install chromium).
screenshots: $(STAMP)
	SCREENSHOTS_DIR=var/screenshots $(BIN)/pytest -q tests/browser
	@echo "Screenshots in var/screenshots/"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=node_modules
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles .pytest_cache

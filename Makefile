# Overdue Notices — the two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
export PORT
# GATEWAY=fake sends through a local fake of the bank SMS platform (receipts included);
# GATEWAY=smpp through a local fake SMSC over SMPP (`fake_smsc`, held by `sms_link`);
# the default prints messages to the console.
GATEWAY ?= console
export GATEWAY

.PHONY: run test venv lint migrate messages browser peers jasmin bench clean

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --port $(PORT)

# Debian's Chromium drives the browser tests (Playwright never downloads its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The protocol peers the tests drive (tests/peers/: the npm `smpp` package's SMSC).
PEERS := tests/peers/node_modules/.package-lock.json
$(PEERS): tests/peers/package.json tests/peers/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Node.js and npm are required for the SMPP test peer"; exit 1; }
	npm ci --prefix tests/peers --no-audit --no-fund --loglevel=error
	@touch $@

# Jasmin (PyPI) in a virtual environment of its own, for tests/notices/test_jasmin_peer.py
# (which also needs RabbitMQ and Redis on 127.0.0.1; .ci/run starts them when stopped).
JASMIN := tests/peers/jasmin-venv/.installed
$(JASMIN): tests/peers/jasmin-requirements.txt
	@test -x tests/peers/jasmin-venv/bin/python || $(PYTHON) -m venv tests/peers/jasmin-venv
	tests/peers/jasmin-venv/bin/pip install --quiet --disable-pip-version-check -r tests/peers/jasmin-requirements.txt
	@touch $@

jasmin: $(JASMIN)

peers: $(PEERS) $(JASMIN)

test: venv browser peers
	$(VENV)/bin/ruff check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Regenerate the translation catalogues after changing user-visible strings.
messages: venv
	for dir in core customers notices demo; do (cd $$dir && ../$(PY) ../manage.py makemessages -l zh_Hans --no-obsolete); done
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=core --ignore=customers --ignore=notices --ignore=demo --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles tests/peers/node_modules tests/peers/jasmin-venv

# The commands in the README. Each makes a local virtual environment on
# first use (and again whenever pyproject.toml changes), so a fresh machine
# needs only python3.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: build test serve clean

# --allow-draft: the Spanish editions are drafts nobody has reviewed yet, so they
# are built marked "Draft translation, not reviewed" (with a loud warning). Once
# translations/es/*.yaml record a review, drop the flag: then a draft fails.
build: $(STAMP)
	sh scripts/system-deps.sh
	$(PY) pipeline.py build --allow-draft

test: $(STAMP) node_modules/.installed
	sh scripts/system-deps.sh --test
	$(PY) -m pytest -q -n 2 --dist loadfile

# The discharge desk on http://127.0.0.1:8765/ (pass options with ARGS="--port 9000").
serve: $(STAMP)
	sh scripts/system-deps.sh
	$(PY) pipeline.py serve $(ARGS)

# axe-core (accessibility rules) for the desk's browser tests, at the locked version.
node_modules/.installed: package.json package-lock.json
	sh scripts/system-deps.sh --test
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf output $(VENV) node_modules

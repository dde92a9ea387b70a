# The two commands in the README. Each makes a local virtual environment on
# first use (and again whenever pyproject.toml changes), so a fresh machine
# needs only python3.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: build test clean

build: $(STAMP)
	sh scripts/system-deps.sh
	$(PY) pipeline.py build

test: $(STAMP)
	sh scripts/system-deps.sh --test
	$(MAKE) node_modules/.package-lock.json
	$(PY) -m pytest -q

# axe-core for the web edition's accessibility tests, at the version in package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf output $(VENV) node_modules

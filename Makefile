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
	$(PY) -m pytest -q

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf output $(VENV)

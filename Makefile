# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
CONSTRAINTS := constraints.txt

.PHONY: demo test install dft-deps plugin clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Debian libraries GPAW needs (FFTW, libxc, OpenBLAS); installed only if missing.
dft-deps:
	@dpkg -s libxc-dev libopenblas-dev libfftw3-dev >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq libxc-dev libopenblas-dev libfftw3-dev; }

$(STAMP): pyproject.toml $(CONSTRAINTS) tools/gpaw-siteconfig.py | $(PY)
	$(MAKE) dft-deps
	$(PIP) install --quiet -c $(CONSTRAINTS) torch==2.13.0
	GPAW_CONFIG=$(CURDIR)/tools/gpaw-siteconfig.py \
	  $(PIP) install --quiet -c $(CONSTRAINTS) -e ".[all,dft,test]"
	touch $(STAMP)

install: $(STAMP)

plugin: $(STAMP)
	$(VENV)/bin/ftcalc lammps build

demo: $(STAMP)
	$(VENV)/bin/ftcalc demo

test: $(STAMP)
	$(VENV)/bin/ftcalc lammps build
	$(VENV)/bin/python -m pytest -q --timeout=1200 tests

clean:
	rm -rf $(VENV) build *.egg-info

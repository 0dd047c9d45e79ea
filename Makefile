# b2dark -- every target bootstraps its own environment (.venv) on first use.
# On a fresh clone:  make zprime-inv   (main job)   and   make test   (tests).

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
DATA    ?= data
SAMPLES := $(DATA)/samples
CATALOG := $(SAMPLES)/catalog.yaml
OUTPUT  ?= $(DATA)/outputs
B2DARK  := $(BIN)/b2dark
# Extra options for `b2dark run`, e.g. make zprime-inv RUN_OPTS="--executor futures"
RUN_OPTS ?=
PYTEST_OPTS ?=
# The searches are the declared ones: one package processors/<key>/ with a search.py each (make target:
# the key with '-' for '_'). `b2dark searches` lists them with their declarations.
SEARCHES := $(sort $(subst _,-,$(notdir $(patsubst %/search.py,%,$(wildcard processors/*/search.py)))))

.PHONY: help env samples searches $(SEARCHES) test test-fast lint bench notebooks clean clean-data

help:
	@echo "make <search>     build env + the search's samples (reusing what exists), run it and its limits:"
	@echo "                  $(SEARCHES)"
	@echo "make searches     all of them"
	@echo "make test         all tests (fast + slow + slurm + gateway markers), as CI runs them"
	@echo "make test-fast    the fast default test selection"
	@echo "make samples      generate every search's samples into $(SAMPLES)"
	@echo "make bench        throughput benchmarks (prints figures, writes JSON)"
	@echo "make lint         ruff (lint + format check) and mypy"

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -e ".[dev]"
	@touch $(STAMP)

# The tests and benchmarks also need ROOT (the PyPI `root` package) for the cross-checks against
# RDataFrame / RooStats, torch (CPU) for the training tests (tests/test_punzi.py) and a dask-gateway
# server for tests/test_gateway.py and the analysis-facility notebook: installed here, never runtime
# dependencies of b2dark.
$(TESTSTAMP): $(STAMP)
	$(BIN)/python -m pip install -e ".[dev,bench,train,gateway-server]"
	@touch $(TESTSTAMP)

samples: $(STAMP)
	@t0=$$(date +%s); $(B2DARK) samples --all --out $(SAMPLES) && \
	echo "[make samples] every search's samples in $$(( $$(date +%s) - t0 )) s -> $(SAMPLES)"

# Each stage prints its own timing; the last line sums up and says where the results are.
$(SEARCHES): $(STAMP)
	@t0=$$(date +%s); \
	$(B2DARK) samples $@ --out $(SAMPLES) && t1=$$(date +%s) && \
	$(B2DARK) run $@ --samples $(CATALOG) --output $(OUTPUT)/$@ $(RUN_OPTS) && t2=$$(date +%s) && \
	$(B2DARK) limits $@ --input $(OUTPUT)/$@ && t3=$$(date +%s) && \
	echo "[make $@] samples $$((t1 - t0)) s, run $$((t2 - t1)) s, limits $$((t3 - t2)) s; results in $(OUTPUT)/$@ (summary.txt, plots/, limits/)"

searches: $(SEARCHES)

test: $(TESTSTAMP)
	B2DARK_REQUIRE_ROOT=1 $(BIN)/python -m pytest -m "slow or not slow" $(PYTEST_OPTS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_OPTS)

lint: $(STAMP)
	$(BIN)/ruff check processors workflows samples tests benchmarks notebooks
	$(BIN)/ruff format --check processors workflows samples tests benchmarks notebooks
	$(BIN)/mypy

bench: $(TESTSTAMP)
	$(BIN)/python -m benchmarks.run_all $(BENCH_OPTS)

notebooks: $(TESTSTAMP)
	$(BIN)/python -m pytest tests/test_notebooks.py -m "slow or not slow"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

clean-data:
	rm -rf $(DATA)

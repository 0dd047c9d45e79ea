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

.PHONY: help env samples zprime-inv limits-zprime-inv test test-fast lint bench notebooks clean clean-data

help:
	@echo "make zprime-inv   build env + default samples (if missing), run the Z'->invisible search and its limits"
	@echo "make test         all tests (fast + slow + slurm markers), as CI runs them"
	@echo "make test-fast    the fast default test selection"
	@echo "make samples      generate the default sample set into $(SAMPLES)"
	@echo "make bench        throughput benchmarks (prints figures, writes JSON)"
	@echo "make lint         ruff"

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -e ".[dev]"
	@touch $(STAMP)

# The tests and benchmarks also need ROOT (the PyPI `root` package) for the cross-checks against
# RDataFrame / RooStats: installed here, never a runtime dependency of b2dark.
$(TESTSTAMP): $(STAMP)
	$(BIN)/python -m pip install -e ".[dev,bench]"
	@touch $(TESTSTAMP)

$(CATALOG): $(STAMP) samples/default.yaml
	@t0=$$(date +%s); \
	$(B2DARK) generate --recipe samples/default.yaml --out $(SAMPLES) && \
	echo "[make samples] default sample set in $$(( $$(date +%s) - t0 )) s -> $(SAMPLES)"

samples: $(CATALOG)

# Each stage prints its own timing; the last line sums up run + limits and where the results are.
zprime-inv: $(CATALOG)
	@t0=$$(date +%s); \
	$(B2DARK) run zprime-inv --samples $(CATALOG) --output $(OUTPUT)/zprime-inv $(RUN_OPTS) && t1=$$(date +%s) && \
	$(B2DARK) limits zprime-inv --input $(OUTPUT)/zprime-inv && t2=$$(date +%s) && \
	echo "[make zprime-inv] run $$((t1 - t0)) s, limits $$((t2 - t1)) s; results in $(OUTPUT)/zprime-inv (summary.txt, plots/)"

limits-zprime-inv: $(STAMP)
	$(B2DARK) limits zprime-inv --input $(OUTPUT)/zprime-inv

test: $(TESTSTAMP)
	B2DARK_REQUIRE_ROOT=1 $(BIN)/python -m pytest -m "slow or not slow" $(PYTEST_OPTS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_OPTS)

lint: $(STAMP)
	$(BIN)/ruff check processors workflows samples tests benchmarks

bench: $(TESTSTAMP)
	$(BIN)/python -m benchmarks.run_all $(BENCH_OPTS)

notebooks: $(TESTSTAMP)
	$(BIN)/python -m pytest tests/test_notebooks.py -m "slow or not slow"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

clean-data:
	rm -rf $(DATA)

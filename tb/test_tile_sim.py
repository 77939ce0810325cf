"""Simulation regression of the tile: every configuration on every simulator.

Each case simulates the tile (:func:`tb.launch.simulate`: Verilog generated, built once per
simulator) and runs the cocotb tests of ``tb.tile_tb``. Measurements go to
``build/results/tile/<config>_<sim>.jsonl``. Floating-point tiles (small, as their PEs cost
simulation time) run every test once per matmul format of :data:`FLOAT_FORMATS`; their
measurements go to ``build/results/tile/<config>_<format>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`): SEED
(default 1) reseeds every random test; SIM restricts to one simulator. The Verilator runs of
:data:`VERILATOR_LONG` are marked ``long``: ``make regress`` and ``make sim`` run them
(``-m "not large"``), ``make test`` does not.
"""


import pytest

from sim_models.config import (DEFAULT_FLOAT_PE_STAGES, TRAINIUM2_FORMATS, TRAINIUM3_FORMATS,
                               TileConfig)
from sim_models.program import MatmulFormat
from sim_models.timing import MAX_FLOAT_PE_STAGES

from .regression import BUILD, SIMULATORS, regression_runs, run_case
from .run_request import matmul_format_option
from .tile_gemms import simulate_gemms


#: Array sizes of the regression: the sizes the issue names, plus one with a single shallow PSUM
#: bank so that results leave through several banks' worth of passes.
CONFIGS = [
    TileConfig(1, 1), TileConfig(2, 3), TileConfig(4, 4), TileConfig(8, 8),
    TileConfig(16, 16), TileConfig(8, 16), TileConfig(3, 5, psum_banks=1, psum_depth=8),
]


#: Tiles whose Verilator runs only ``make regress`` (and ``make sim``) make, not ``make test``:
#: what they check, Verilator checks in ``make test`` on the smaller square (8 x 8) and
#: non-square (2 x 3, 3 x 5) tiles, and their own RTL is checked in ``make test`` on Icarus.
#: Their builds and runs cost about 160 s of a loaded two-core machine.
VERILATOR_LONG = [TileConfig(16, 16).name, TileConfig(8, 16).name]


@pytest.mark.parametrize("sim, config, tests",
                         regression_runs([(config, None) for config in CONFIGS],
                                         verilator_long=VERILATOR_LONG))
def test_tile(sim, config, tests, request):
    run_case("tb.tile_tb", "tile", sim, config, tests, request)


#: Floating-point tiles of the regression, each with the matmul formats it runs: a square tile
#: with a shallow PSUM bank runs every format, each format, mixed formats (16 x 8 bits and
#: E4M3 x E5M2) and FP8 double-row (both FP8 formats, and mixed); the non-square tile with one
#: bank runs one of each kind. Small, as floating-point PEs cost simulation time.
FLOAT_FORMATS = [MatmulFormat(name, name) for name in TRAINIUM2_FORMATS] + [
    MatmulFormat("bf16", "fp8_e4m3"), MatmulFormat("fp8_e4m3", "fp8_e5m2"),
    MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True),
    MatmulFormat("fp8_e5m2", "fp8_e5m2", double_row=True),
    MatmulFormat("fp8_e5m2", "fp8_e4m3", double_row=True)]
#: One of each kind of format also runs at MAC depth 1 and one deeper than the default
#: (TileConfig.pe_stages; one shallower when the default is the deepest), on Icarus, so that the
#: cycle model's latency is checked at three depths; Verilator runs the default depth.
ONE_OF_EACH = [MatmulFormat("fp16", "fp16"), MatmulFormat("fp8_e4m3", "fp8_e5m2"),
               MatmulFormat("fp8_e5m2", "fp8_e4m3", double_row=True)]
_NEIGHBOUR_DEPTH = DEFAULT_FLOAT_PE_STAGES + 1 if DEFAULT_FLOAT_PE_STAGES < MAX_FLOAT_PE_STAGES \
    else DEFAULT_FLOAT_PE_STAGES - 1
FLOAT_CASES = [
    (TileConfig(4, 4, psum_depth=16, formats=TRAINIUM2_FORMATS), FLOAT_FORMATS),
    (TileConfig(3, 5, psum_banks=1, psum_depth=8, formats=TRAINIUM2_FORMATS), ONE_OF_EACH),
] + [(TileConfig(3, 5, psum_banks=1, psum_depth=8, formats=TRAINIUM2_FORMATS, pe_stages=depth),
      ONE_OF_EACH) for depth in (1, _NEIGHBOUR_DEPTH)]
#: The configurations of FLOAT_CASES Verilator runs: those of the default depth.
VERILATOR_FLOAT = [config.name for config, _ in FLOAT_CASES
                   if config.pe_stages == DEFAULT_FLOAT_PE_STAGES]


@pytest.mark.parametrize("sim, config, tests, matmul_format", [
    pytest.param(*run.values, matmul_format, id=f"{run.id}-{matmul_format.name}")
    for config, formats in FLOAT_CASES
    for run in regression_runs([(config, None)], VERILATOR_FLOAT)
    for matmul_format in formats])
def test_float_tile(sim, config, tests, matmul_format, request):
    """Verilator builds are hierarchical: each leaf module (the FloatMac among them) is
    compiled once, which halves the build's CPU time."""
    run_case("tb.tile_tb", "tile", sim, config, tests, request,
             matmul_format_option(matmul_format), f"{config.name}_{matmul_format.name}",
             hierarchical=sim == "verilator")


#: The tile with Trainium3's PSUM destinations (TileConfig.bf16_psum): small, BF16 only, two
#: shallow banks, at the default MAC depth; its programs are tb.float_scenarios'
#: bf16_psum_scenarios (R16-R17: RNE and SR, overwrite and accumulate, reseeds).
BF16_PSUM_TILE = TileConfig(3, 4, psum_banks=2, psum_depth=8, formats=("bf16",), bf16_psum=True)
#: Its format: BF16 operands (the destination rules do not depend on the operands' format).
BF16_PSUM_FORMAT = MatmulFormat("bf16", "bf16")


@pytest.mark.parametrize("sim, config, tests", regression_runs([(BF16_PSUM_TILE, None)]))
def test_bf16_psum_tile(sim, config, tests, request):
    """BF16 PSUM writes on both simulators, every element bit-exact, every handshake at the
    cycle model's cycle with ideal streams."""
    run_case("tb.bf16_psum_tb", "tile", sim, config, tests, request,
             matmul_format_option(BF16_PSUM_FORMAT),
             f"{config.name}_{BF16_PSUM_FORMAT.name}", hierarchical=sim == "verilator")


#: The tile with MX mode of the regression: Trainium3's formats and PSUM destinations, 16
#: shallow PSUM banks (the programs batch their reads), 16 rows (two scale groups, so that each
#: lane's group shows) by 2 columns. Icarus runs it in ``make test`` (about 30 s), Verilator in
#: ``make regress`` (its build takes about 200 s of CPU). One simulation per simulator runs
#: every MX format pair, with FP32 and BF16 PSUM (``tb.mx_tile_tb``), so that one build serves
#: them all.
MX_CONFIG = TileConfig(16, 2, psum_banks=16, psum_depth=8, formats=TRAINIUM3_FORMATS,
                       bf16_psum=True)
#: The MX tile of the Verilator GEMMs below (the fast path, whose build was never the slow one):
#: the PEs of 16 x 2 as 8 x 4, so that a GEMM's M goes beyond four columns.
MX_VERILATOR_CONFIG = TileConfig(8, 4, psum_banks=16, psum_depth=8, formats=TRAINIUM3_FORMATS,
                                 bf16_psum=True)


@pytest.mark.parametrize("sim, config, tests", regression_runs(
    [(MX_CONFIG, None)], verilator_long=[MX_CONFIG.name]))
def test_mx_tile(sim, config, tests, request):
    """MX programs of every element-format pair on both simulators, every element bit-exact,
    every handshake at the cycle model's cycle with ideal streams."""
    run_case("tb.mx_tile_tb", "tile", sim, config, tests, request, name=f"{config.name}_mx",
             hierarchical=sim == "verilator")


#: MX GEMMs through the tiler (``tb.tile_gemm_tb``) on the MX tiles above: two
#: passes (K = 2 x 4R), M beyond the tile's columns and N beyond its bank of 8. Icarus runs 16 x 2
#: (passes of K = 64, two scale groups each) in an MXFP8 x MXFP4 mix in ``make test`` (about
#: 25 s: the MX PEs simulate at about 50 cycles/s) and E5M2 x E4M3FN in ``-m long``; Verilator
#: runs 8 x 4 (passes of 32) on the fast path in ``-m long`` (its build about 150 s of CPU).
MX_GEMM_RUNS = [
    pytest.param("icarus", MX_CONFIG, MatmulFormat("fp8_e4m3fn", "fp4_e2m1", mx=True),
                 id="icarus-fp8e4m3fn_fp4e2m1_mx"),
    pytest.param("icarus", MX_CONFIG, MatmulFormat("fp8_e5m2", "fp8_e4m3fn", mx=True),
                 id="icarus-fp8e5m2_fp8e4m3fn_mx", marks=pytest.mark.long),
    pytest.param("verilator", MX_VERILATOR_CONFIG, MatmulFormat("fp4_e2m1", "fp8_e5m2", mx=True),
                 id="verilator-fp4e2m1_fp8e5m2_mx", marks=pytest.mark.long),
]


@pytest.mark.parametrize("sim, config, matmul_format", MX_GEMM_RUNS)
def test_mx_tile_gemms(sim, config, matmul_format):
    """Tiled MX GEMMs on the RTL: every element bit-exact to the golden model (and within the
    exact product's error bound), every handshake in the cycle model's cycle, the totals equal."""
    if sim not in SIMULATORS:
        pytest.skip(f"SIM excludes {sim}")
    shape = (config.cols + 1, 2 * 4 * config.rows, config.psum_depth + 2)
    entries, _ = simulate_gemms(config, sim, [shape], BUILD, matmul_format=matmul_format,
                                run=matmul_format.name, hierarchical=sim == "verilator")
    assert [entry["gemm_mkn"] for entry in entries] == [list(shape)]
    assert entries[0]["bit_exact"] and entries[0]["total_cycles"] == entries[0]["model_cycles"]
    assert entries[0]["handshakes_matching"] == entries[0]["handshakes_checked"] > 0

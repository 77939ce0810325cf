"""Simulation regression of the all-reduce ring on every simulator.

Each case generates an all-reduce ring's Verilog, builds it once per simulator (in its own
directory under ``build/allreduce/``) and runs the cocotb tests of ``tb.allreduce_tb`` on it.
Measurements go to ``build/results/allreduce/<config>_<sim>.jsonl``. Environment:
ALLREDUCE_SEED (default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from hdl.fabric.allreduce_emit import allreduce_module_name, generate, write
from hdl.fabric.config import FabricConfig

from .regression import BUILD, SIMULATORS, fresh_results, seed_from_env
from .runner import run_simulation


#: Rings and vector lengths: even and uneven chunks, one and two elements per flit, buffers
#: shallower than the credit loop (payload at 2 flits per 3 cycles), and a vector shorter than
#: the ring (empty chunks, sent as header-only packets).
CASES = [
    (FabricConfig.ring(2), 8),
    (FabricConfig.ring(3, flit_width=64), 10),
    (FabricConfig.ring(3, buffer_depth=2), 20),
    (FabricConfig.ring(5), 23),
    (FabricConfig.ring(5), 3),
]
#: Cases Verilator also runs: its C++ build of a ring takes over half a minute on two shared
#: cores, so it runs the one case with uneven chunks and two elements per flit.
VERILATOR_CASES = ("ring3_w64_v10",)
TESTS = ("random_traffic", "ideal_cycles")


def case_name(config, length):
    return f"{config.name}_v{length}"


RUNS = [(sim, config, length) for sim in SIMULATORS for config, length in CASES
        if sim == "icarus" or case_name(config, length) in VERILATOR_CASES]


@pytest.mark.parametrize("sim, config, length", RUNS,
                         ids=[f"{sim}-{case_name(config, length)}" for sim, config, length in RUNS])
def test_allreduce(sim, config, length):
    seed = seed_from_env("ALLREDUCE_SEED")
    name = case_name(config, length)
    results = fresh_results("allreduce", name, sim)
    generated = write(generate(config.nodes, length, flit_width=config.flit_width,
                               length_width=config.length_width,
                               buffer_depth=config.buffer_depth),
                      BUILD / "allreduce" / "verilog")
    run_directory = BUILD / "allreduce" / sim / name
    outcome = run_simulation(
        sim, [generated], allreduce_module_name(config, length), "tb.allreduce_tb",
        build_dir=run_directory, test_dir=run_directory, testcase=list(TESTS), seed=int(seed),
        extra_env={"ALLREDUCE_NODES": str(config.nodes), "ALLREDUCE_LENGTH": str(length),
                   "ALLREDUCE_FLIT_WIDTH": str(config.flit_width),
                   "ALLREDUCE_LENGTH_WIDTH": str(config.length_width),
                   "ALLREDUCE_BUFFER_DEPTH": str(config.buffer_depth),
                   "ALLREDUCE_SEED": seed, "ALLREDUCE_RESULTS": str(results)})
    assert outcome.passed == len(TESTS), f"{outcome.passed} of {len(TESTS)} cocotb tests passed"
    print(f"{name} on {sim}: {outcome.passed} cocotb tests passed in {outcome.wall_time:.1f} s "
          f"(build {outcome.build_time:.1f} s)")

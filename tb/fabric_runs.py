"""Simulation runs of a fabric or an all-reduce ring: generate the Verilog, build it once per
simulator and configuration (in a directory under ``<build>/fabric/`` or ``<build>/allreduce/``),
and run cocotb tests of ``tb.fabric_tb`` or ``tb.allreduce_tb`` with their configuration in the
environment. The regression tests and the characterization both run through here, so they share
builds and measure the same way.
"""

from hdl.emit import generate, write
from sim_models.config import AllReduceConfig

from .regression import BUILD
from .runner import run_simulation

__all__ = ["allreduce_case_name", "simulate_allreduce", "simulate_fabric"]


def simulate_fabric(sim, config, tests, seed, results, build=BUILD):
    """Run the cocotb tests ``tests`` of ``tb.fabric_tb`` on the fabric of ``config``.

    ``seed`` (a string) seeds the random tests; ``results`` is the JSON-lines file the tests
    append their measurements to; ``build`` the build directory. Returns the
    :class:`~tb.runner.SimulationResult`.
    """
    generated = write(generate(config), build / "fabric" / "verilog")
    run_directory = build / "fabric" / sim / config.name
    return run_simulation(
        sim, [generated], generated.stem, "tb.fabric_tb", build_dir=run_directory,
        test_dir=run_directory, testcase=list(tests), seed=int(seed),
        extra_env={"FABRIC_DIMS": "x".join(map(str, config.dims)),
                   "FABRIC_FLIT_WIDTH": str(config.flit_width),
                   "FABRIC_LENGTH_WIDTH": str(config.length_width),
                   "FABRIC_BUFFER_DEPTH": str(config.buffer_depth),
                   "FABRIC_ROUTING": config.routing, "FABRIC_SEED": seed,
                   "FABRIC_RESULTS": str(results)})


def allreduce_case_name(config, length):
    """Name of an all-reduce ring of ``config`` and vectors of ``length`` elements."""
    return f"{config.name}_v{length}"


def simulate_allreduce(sim, config, length, tests, seed, results, build=BUILD):
    """Run the cocotb tests ``tests`` of ``tb.allreduce_tb`` on the all-reduce ring of
    ``config`` (a ring) and vectors of ``length`` elements; arguments as
    :func:`simulate_fabric`."""
    generated = write(generate(AllReduceConfig(config, length)),
                      build / "allreduce" / "verilog")
    run_directory = build / "allreduce" / sim / allreduce_case_name(config, length)
    return run_simulation(
        sim, [generated], generated.stem, "tb.allreduce_tb",
        build_dir=run_directory, test_dir=run_directory, testcase=list(tests), seed=int(seed),
        extra_env={"ALLREDUCE_NODES": str(config.nodes), "ALLREDUCE_LENGTH": str(length),
                   "ALLREDUCE_FLIT_WIDTH": str(config.flit_width),
                   "ALLREDUCE_LENGTH_WIDTH": str(config.length_width),
                   "ALLREDUCE_BUFFER_DEPTH": str(config.buffer_depth),
                   "ALLREDUCE_SEED": seed, "ALLREDUCE_RESULTS": str(results)})

"""Simulation regression of all-to-all and all-to-all-v on rings and tori.

Each case simulates an all-to-all design (:func:`tb.launch.simulate`) and runs the cocotb
tests of ``tb.alltoall_tb`` on it. Measurements go to
``build/results/alltoall/<config>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`):
SEED (default 1) reseeds every random test; SIM restricts to one simulator.
"""

import pytest

from sim_models.config import AllToAllConfig, FabricConfig

from .regression import regression_runs, run_case

#: A ring, a 2-D torus with shallow buffers and 64-bit flits, a 3-D torus with Z links at half
#: bandwidth, and a switched fabric of 3 servers of 2 chips under two second-level switches
#: whose links run at half rate, with shallow buffers (Trainium3's all-to-all-v: counts set at
#: run time, blocks through the switches).
CASES = [
    AllToAllConfig(FabricConfig.ring(4), 5),
    AllToAllConfig(FabricConfig.torus(2, 3, buffer_depth=2, flit_width=64), 4),
    AllToAllConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 3),
    AllToAllConfig(FabricConfig.switch(2, 3, top_switches=2, buffer_depth=2,
                                       flit_intervals=(1, 2)), 3),
]
#: Cases Verilator also runs.
VERILATOR_CASES = ("torus2x2x2_i1x1x2_c3",)
TESTS = ("alltoallv_random", "alltoall_ideal")


@pytest.mark.parametrize("sim, config, tests",
                         regression_runs([(config, TESTS) for config in CASES], VERILATOR_CASES))
def test_alltoall(sim, config, tests, request):
    run_case("tb.alltoall_tb", "alltoall", sim, config, tests, request)

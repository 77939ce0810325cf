"""Simulation regression of the ring and torus fabrics on every simulator.

Each case simulates a fabric (:func:`tb.launch.simulate`: Verilog generated, built once per
simulator) and runs some cocotb tests of ``tb.fabric_tb`` on it. Measurements go to
``build/results/fabric/<config>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`): SEED
(default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from sim_models.config import FabricConfig

from .regression import regression_runs, run_case


_PATTERNS = ("uniform", "transpose", "hotspot", "all_to_all")
#: Fabrics of the regression and the cocotb tests each runs. Every fabric measures its
#: zero-load latency; the traffic patterns are spread so that each runs on rings and tori, the
#: largest fabrics get all of them, and the saturation test compares the naive ring with the
#: real one; the 3-D tori run the saturation test too, one of them with Z links at half
#: bandwidth (a flit every 2 cycles) and buffers shallower than the credit loop. The switched
#: fabrics (Trainium3 NeuronSwitch levels): 2 servers of 4 chips under one second-level
#: switch, and 3 servers of 2 chips under two second-level switches whose links run at half
#: rate with shallow buffers, and the same with Gen2's link ratios (chip links a flit every 5
#: cycles, the links to the second level every 2). The switched fabrics and the 3-D tori also run data writes each
#: followed by its completion semaphore, sources saturating, sinks pushing back; the switches
#: an incast (every chip to one). Ring 3 uses
#: 16-bit flits with a 3-bit length field (the header fills 11 bits).
CASES = [
    (FabricConfig.ring(2), ("zero_load_latency", "uniform", "all_to_all")),
    (FabricConfig.ring(3, flit_width=16, length_width=3),
     ("zero_load_latency", "transpose", "hotspot")),
    (FabricConfig.ring(5), ("zero_load_latency", "uniform", "saturation")),
    (FabricConfig.ring(5, routing="naive"), ("saturation",)),
    (FabricConfig.ring(8), ("zero_load_latency", *_PATTERNS)),
    (FabricConfig.torus(2, 2, buffer_depth=2), ("zero_load_latency", "uniform", "hotspot")),
    (FabricConfig.torus(2, 3), ("zero_load_latency", "transpose", "all_to_all")),
    (FabricConfig.torus(4, 4), ("zero_load_latency", *_PATTERNS)),
    (FabricConfig.torus(3, 2, 2), ("zero_load_latency", "uniform", "transpose", "all_to_all",
                                   "saturation", "write_semaphore")),
    (FabricConfig.torus(2, 3, 3, flit_intervals=(1, 1, 2), buffer_depth=2),
     ("zero_load_latency", "hotspot", "saturation", "write_semaphore")),
    (FabricConfig.switch(4, 2), ("zero_load_latency", "uniform", "hotspot", "incast",
                                 "all_to_all", "saturation", "write_semaphore")),
    (FabricConfig.switch(2, 3, top_switches=2, flit_intervals=(1, 2), buffer_depth=2),
     ("zero_load_latency", "uniform", "incast", "all_to_all", "saturation",
      "write_semaphore")),
    (FabricConfig.switch(2, 3, top_switches=2, flit_intervals=(5, 2)),
     ("zero_load_latency", "incast", "write_semaphore", "saturation")),
]
#: Fabrics that Verilator also runs. Building a fabric with Verilator (its C++ compile) takes
#: 35 s for a ring and over 3 minutes for the 4x4 torus on two shared cores, while Icarus builds
#: and runs every case in under a minute; so Verilator runs the saturation pair and a torus.
VERILATOR_CASES = ("ring5", "ring5_naive", "torus2x3")


@pytest.mark.parametrize("sim, config, tests", regression_runs(CASES, VERILATOR_CASES))
def test_fabric(sim, config, tests, request):
    run_case("tb.fabric_tb", "fabric", sim, config, tests, request)

"""Simulation regression of the collective rings (all-reduce, reduce-scatter, all-gather) on
every simulator.

Each case simulates an all-reduce ring (:func:`tb.launch.simulate`: Verilog generated, built
once per simulator) and runs the cocotb tests of ``tb.allreduce_tb`` on it. Measurements go to
``build/results/allreduce/<config>_<sim>.jsonl``. Environment (read by :mod:`tb.regression`):
SEED (default 1) reseeds every random test; SIM restricts to one simulator.
"""


import pytest

from sim_models.config import AllReduceConfig, FabricConfig

from .regression import SIMULATORS, regression_runs, run_case


#: Rings and vector lengths: even and uneven chunks, one and two elements per flit, buffers
#: shallower than the credit loop (payload at 2 flits per 3 cycles), and a vector shorter than
#: the ring (empty chunks, sent as header-only packets); FP32 on a ring of 4, BF16 with three
#: elements per 48-bit flit. Reduce-scatter and all-gather on their own; cut-through forwarding
#: with uneven chunks and with shallow buffers; the switched fabric (endpoint reduction, the
#: ring through the switches), storing and cutting through. Tori, dimension by dimension: FP32
#: on 2 x 2 x 2 with half-rate Z links, BF16 on 2 x 2 x 2 (one element per 16-bit flit), an
#: int32 reduce-scatter on 2 x 3 (a ring of 3) with 2-flit buffers, a BF16 all-gather; and
#: bidirectional (two rings per dimension, one each way): FP32 on 4 x 2 (rings of 4, where the
#: two ways add in different orders, on links of their own; rings of 2, where both ways share
#: the + link), an FP32 reduce-scatter and a BF16 all-gather on 2 x 2 x 2 with half-rate Z.
#: The direct algorithm (Neuron's Mesh): on rings of 3 with uneven chunks (packets meet at an
#: eject port) and with equal ones (none meet: the estimate exact), with empty chunks on a ring
#: of 5, a reduce-scatter on a ring of 4 and an all-gather on a ring of 3, on a switched fabric
#: and on a 2 x 3 torus with 2-flit buffers.
CASES = [
    AllReduceConfig(FabricConfig.ring(2), 8),
    AllReduceConfig(FabricConfig.ring(3, flit_width=64), 10),
    AllReduceConfig(FabricConfig.ring(3, buffer_depth=2), 20),
    AllReduceConfig(FabricConfig.ring(5), 23),
    AllReduceConfig(FabricConfig.ring(5), 3),
    AllReduceConfig(FabricConfig.ring(4), 13, "fp32"),
    AllReduceConfig(FabricConfig.ring(3, flit_width=48), 17, "bf16"),
    AllReduceConfig(FabricConfig.ring(4), 16, "fp32", "reducescatter"),
    AllReduceConfig(FabricConfig.ring(3, flit_width=48), 18, "bf16", "allgather"),
    AllReduceConfig(FabricConfig.ring(5), 23, forwarding="cut-through"),
    AllReduceConfig(FabricConfig.ring(2, buffer_depth=2), 16, "bf16", forwarding="cut-through"),
    AllReduceConfig(FabricConfig.switch(2, 2), 8, "fp32"),
    AllReduceConfig(FabricConfig.switch(2, 2), 8, "bf16", "reducescatter", "cut-through"),
    AllReduceConfig(FabricConfig.switch(2, 2), 12, "fp32", "allgather", "cut-through"),
    AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 16, "fp32"),
    AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_width=16), 16, "bf16"),
    AllReduceConfig(FabricConfig.torus(2, 3, buffer_depth=2), 12, "int32", "reducescatter"),
    AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 16, "bf16",
                    "allgather"),
    AllReduceConfig(FabricConfig.torus(4, 2), 32, "fp32", bidirectional=True),
    AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 32, "fp32",
                    "reducescatter", bidirectional=True),
    AllReduceConfig(FabricConfig.torus(2, 2, 2, flit_intervals=(1, 1, 2)), 32, "bf16",
                    "allgather", bidirectional=True),
    AllReduceConfig(FabricConfig.ring(3), 10, "fp32", algorithm="direct"),
    AllReduceConfig(FabricConfig.ring(3, flit_width=48), 17, "bf16", algorithm="direct"),
    AllReduceConfig(FabricConfig.ring(5), 3, algorithm="direct"),
    AllReduceConfig(FabricConfig.ring(4), 16, "fp32", "reducescatter", algorithm="direct"),
    AllReduceConfig(FabricConfig.ring(3, flit_width=48), 18, "bf16", "allgather",
                    algorithm="direct"),
    AllReduceConfig(FabricConfig.switch(2, 2), 8, "fp32", algorithm="direct"),
    AllReduceConfig(FabricConfig.torus(2, 3, buffer_depth=2), 24, "bf16", algorithm="direct"),
]
#: Cases Verilator also runs: its C++ build of a ring takes over half a minute on two shared
#: cores, so it runs the one case with uneven chunks and two elements per flit. The FP32
#: 2 x 2 x 2 torus too, marked long (left out of ``make test``; ``pytest -m long
#: tb/test_allreduce_sim.py``): its build took 9 min 46 s at a load of 10.
VERILATOR_CASES = ("ring3_w64_v10", "torus2x2x2_i1x1x2_v16_fp32")
VERILATOR_LONG = ("torus2x2x2_i1x1x2_v16_fp32",)
TESTS = ("random_traffic", "ideal_cycles")


@pytest.mark.parametrize("sim, config, tests",
                         regression_runs([(config, TESTS) for config in CASES], VERILATOR_CASES,
                                         VERILATOR_LONG))
def test_allreduce(sim, config, tests, request):
    run_case("tb.allreduce_tb", "allreduce", sim, config, tests, request)


#: Larger collectives, outside ``make test`` (``make fabric-large``, Icarus: the interfaces
#: are not hierarchical blocks, so Verilator would build every node's FloatAdd flat): 16 chips
#: as 4 servers of 4 on switches, all-reducing 512 BF16 elements storing and cutting through,
#: and a 16-node ring reduce-scattering and all-gathering 1,024 FP32 elements; BF16 on a
#: 3 x 2 x 2 torus dimension by dimension (rings of 3 adding floats; about a minute on Icarus);
#: the direct all-reduce of 512 BF16 elements on the 16 chips, through four second-level
#: switches (an up link per chip of a server, as Trainium3's; with one, as above for the ring,
#: its all-to-all traffic queues on a server's one up link: 2,684 cycles against 1,563).
LARGE_CASES = [
    AllReduceConfig(FabricConfig.switch(4, 4, length_width=8), 512, "bf16"),
    AllReduceConfig(FabricConfig.switch(4, 4, length_width=8), 512, "bf16",
                    forwarding="cut-through"),
    AllReduceConfig(FabricConfig.ring(16, length_width=8), 1024, "fp32", "reducescatter"),
    AllReduceConfig(FabricConfig.ring(16, length_width=8), 1024, "fp32", "allgather",
                    "cut-through"),
    AllReduceConfig(FabricConfig.torus(3, 2, 2, flit_width=16), 24, "bf16"),
    AllReduceConfig(FabricConfig.switch(4, 4, top_switches=4, length_width=8), 512, "bf16",
                    algorithm="direct"),
]


@pytest.mark.large
@pytest.mark.skipif("icarus" not in SIMULATORS, reason="SIM excludes icarus")
@pytest.mark.parametrize("config", LARGE_CASES, ids=[config.name for config in LARGE_CASES])
def test_large_collectives(config, request):
    run_case("tb.allreduce_tb", "allreduce", "icarus", config, TESTS, request)


#: The Trn2 UltraServer's 4 x 4 x 4 torus (Z links at half rate) all-reducing BF16 dimension
#: by dimension, one way and bidirectional, in Verilator with the router and the node each
#: built once as a hierarchical block (``make fabric-large``; docs/fabric.md has the runs).
TRN2_ALLREDUCES = [AllReduceConfig(FabricConfig.system("trn2-ultraserver"), length, "bf16",
                                   bidirectional=both)
                   for length, both in ((64, False), (128, True))]


@pytest.mark.large
@pytest.mark.skipif("verilator" not in SIMULATORS, reason="SIM excludes verilator")
@pytest.mark.parametrize("config", TRN2_ALLREDUCES, ids=[c.name for c in TRN2_ALLREDUCES])
def test_trn2_ultraserver_allreduce(config, request):
    run_case("tb.allreduce_tb", "allreduce", "verilator", config, TESTS, request,
             hierarchical=True)

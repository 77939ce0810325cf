"""The Trn2 UltraServer's torus in RTL: a 4 x 4 x 4 torus of routers with Z links at half
bandwidth (a flit every 2 cycles, same width), simulated in Verilator with the router built
once as a hierarchical block; and the Trainium3 Gen1 UltraServer's switched fabric: 4 servers
of 16 chips, a NeuronSwitch per server under one second-level switch (each switch level's
module built once). Every test of ``tb.fabric_tb``: zero-load latency against the
model, uniform, transpose, hotspot and all-to-all traffic with random gaps and backpressure
(exactly once, intact, in order per pair), and saturation (deadlock freedom, link throughput).

Marked ``large``: outside ``make test`` (the Verilator build of 64 nodes is the cost; Icarus
builds it too, but runs it about ten times slower), run by ``make fabric-large``.
"""

import pytest

from sim_models.config import FabricConfig

from .regression import SIMULATORS, run_case

#: The Trn2 UltraServer fabric: 4 x 4 chips per instance, 4 instances joined on Z.
TRN2_ULTRASERVER = FabricConfig.system("trn2-ultraserver")


@pytest.mark.large
@pytest.mark.skipif("verilator" not in SIMULATORS, reason="SIM excludes verilator")
def test_trn2_ultraserver_torus(request):
    run_case("tb.fabric_tb", "fabric", "verilator", TRN2_ULTRASERVER, None, request,
             hierarchical=True)


#: Trainium3 Gen1 UltraServer: 16 chips per server, 4 servers, one second-level switch.
TRN3_GEN1_ULTRASERVER = FabricConfig.system("trn3-gen1-ultraserver")


@pytest.mark.large
@pytest.mark.skipif("verilator" not in SIMULATORS, reason="SIM excludes verilator")
def test_trn3_gen1_ultraserver_switch(request):
    run_case("tb.fabric_tb", "fabric", "verilator", TRN3_GEN1_ULTRASERVER, None, request,
             hierarchical=True)


#: Trainium3 Gen2 UltraServer: 4 chips per server, 36 servers, two second-level switches; chip
#: links a flit every 5 cycles, server-to-second-level links every 2 (the published 256 and
#: 4 x 320 / 2 GB/s per link as a ratio, see ``SYSTEM_FABRICS``).
TRN3_GEN2_ULTRASERVER = FabricConfig.system("trn3-gen2-ultraserver")


@pytest.mark.large
@pytest.mark.skipif("verilator" not in SIMULATORS, reason="SIM excludes verilator")
def test_trn3_gen2_ultraserver_switch(request):
    run_case("tb.fabric_tb", "fabric", "verilator", TRN3_GEN2_ULTRASERVER, None, request,
             hierarchical=True)

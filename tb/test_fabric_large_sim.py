"""The published systems' fabrics in RTL (``FabricConfig.system``), simulated in Verilator with
each router or switch level built once as a hierarchical block: the Trn2 UltraServer's
4 x 4 x 4 torus with Z links at half bandwidth (a flit every 2 cycles, same width), and the
Trainium3 Gen1 (4 servers of 16 chips, four second-level planes, chip links a flit every 5
cycles and each server's four up links every cycle) and Gen2 (36 servers of 4 chips, two
second-level switches, chip links a flit every 5 cycles and the links between the levels every
2) UltraServers. Every test of ``tb.fabric_tb``: zero-load latency against the
model, uniform, transpose, hotspot, incast and all-to-all traffic with random gaps and
backpressure (exactly once, intact, in order per pair), writes each followed by their
completion semaphore with saturating sources and pushing-back sinks, and saturation (deadlock
freedom, link throughput). Beside them, the small switch and 3-D torus that Icarus runs in
``make test`` run their ordering tests in Verilator too, so both simulators check them.

Marked ``large``: outside ``make test`` (the Verilator builds are the cost; Icarus builds the
systems too, but runs them about ten times slower), run by ``make fabric-large``.
"""

import pytest

from sim_models.config import FabricConfig

from .regression import SIMULATORS, run_case

#: The published systems (``FabricConfig.system``). Gen2's chip links take a flit every 5
#: cycles, its server-to-second-level links every 2 (the published 256 and 4 x 320 / 2 GB/s per
#: link as a ratio, see ``SYSTEM_FABRICS``); the Trn2 torus's Z links every 2. The full Gen2 (144
#: chips) builds in about a minute since the build makes only the top's ports public (it did
#: not finish in 50 minutes before; docs/fabric.md).
SYSTEMS = {key: FabricConfig.system(key)
           for key in ("trn2-ultraserver", "trn3-gen1-ultraserver", "trn3-gen2-ultraserver")}


@pytest.mark.large
@pytest.mark.skipif("verilator" not in SIMULATORS, reason="SIM excludes verilator")
@pytest.mark.parametrize("config", SYSTEMS.values(), ids=SYSTEMS.keys())
def test_system_fabric(config, request):
    run_case("tb.fabric_tb", "fabric", "verilator", config, None, request, hierarchical=True)


#: The small fabrics of ``make test`` whose ordering tests Verilator runs as well.
BOTH_SIMULATORS = [FabricConfig.switch(2, 3, top_switches=2, flit_intervals=(5, 2)),
                   FabricConfig.torus(3, 2, 2)]


@pytest.mark.large
@pytest.mark.skipif("verilator" not in SIMULATORS, reason="SIM excludes verilator")
@pytest.mark.parametrize("config", BOTH_SIMULATORS, ids=lambda config: config.name)
def test_ordering_on_verilator(config, request):
    run_case("tb.fabric_tb", "fabric", "verilator", config,
             ("write_semaphore", "incast", "saturation"), request)

"""cocotb tests of all-to-all and all-to-all-v (``hdl.fabric.alltoall.AllToAll``).

Every node's received counts and elements are compared with the reference
(``sim_models.alltoall``): each source's block exactly once, intact, in order, sources in
order. The random test runs all-to-all-v rounds back to back (random counts per destination,
empty blocks and full ones among them) with random idle cycles on every input and
backpressure on every output; the ideal test runs one all-to-all of equal counts with ideal
streams and records its cycles.

Run through ``tb.test_alltoall_sim`` (pytest) and :func:`tb.launch.simulate`.
"""

import cocotb

from sim_models.alltoall import alltoall_reference

from .alltoall_harness import AllToAllHarness
from .harness_timing import STALL_PROBABILITY
from .records import record_measurements
from .run_context import design_config, seeded_rng

#: All-to-all-v rounds run back to back by the random test.
ROUNDS = 3


def _blocks(rng, config, counts):
    """Random 32-bit elements in blocks of ``counts[source][destination]``."""
    nodes = config.fabric.nodes
    return [[[int(value) for value in rng.integers(0, 1 << 32, int(counts[source][destination]),
                                                   dtype="uint64")]
             for destination in range(nodes)] for source in range(nodes)]


def _check(config, rounds, counts, elements):
    """Compare every node's counts and elements with the reference, all rounds in order."""
    expected = [alltoall_reference(blocks, config.max_count) for blocks in rounds]
    problems = []
    for node in range(config.fabric.nodes):
        want_counts = [c for result in expected for c in result[node].counts]
        want_elements = [e for result in expected for e in result[node].elements]
        if counts[node] != want_counts:
            problems.append(f"node {node}: counts {counts[node]}, expected {want_counts}")
        if elements[node] != want_elements:
            first = next((i for i, (got, want) in enumerate(zip(elements[node], want_elements))
                          if got != want), min(len(elements[node]), len(want_elements)))
            problems.append(f"node {node}: elements differ from element {first} on "
                            f"({len(elements[node])} received, {len(want_elements)} expected)")
    assert not problems, "All-to-all results differ:\n  " + "\n  ".join(problems)


async def _start(dut, test_name):
    config = design_config()
    harness = AllToAllHarness(dut, config.fabric.nodes)
    await harness.reset()
    return config, seeded_rng(test_name), harness


@cocotb.test()
async def alltoallv_random(dut):
    """All-to-all-v rounds back to back: random counts 0..max_count (a third of the blocks
    empty), random idle cycles and backpressure."""
    config, rng, harness = await _start(dut, "alltoallv_random")
    nodes = config.fabric.nodes
    rounds = []
    for _ in range(ROUNDS):
        counts = rng.integers(0, config.max_count + 1, (nodes, nodes))
        counts[rng.random((nodes, nodes)) < 1 / 3] = 0
        rounds.append(_blocks(rng, config, counts))
    timeout = 200 * ROUNDS * nodes * (config.max_count + 2)
    counts, elements, _, last = await harness.run(rounds, timeout, rng)
    _check(config, rounds, counts, elements)
    record_measurements(config, "alltoallv_random", rounds=ROUNDS,
                        stall_probability=STALL_PROBABILITY, cycles=last)
    dut._log.info("alltoallv_random: %d all-to-all-v rounds on %d nodes correct in %d cycles",
                  ROUNDS, nodes, last)


@cocotb.test()
async def alltoall_ideal(dut):
    """One all-to-all of ``max_count`` elements per block with ideal streams."""
    config, rng, harness = await _start(dut, "alltoall_ideal")
    nodes = config.fabric.nodes
    blocks = _blocks(rng, config, [[config.max_count] * nodes] * nodes)
    counts, elements, first, last = await harness.run([blocks], 100 * nodes * nodes *
                                                      (config.max_count + 2))
    _check(config, [blocks], counts, elements)
    record_measurements(config, "alltoall_ideal", count=config.max_count,
                        cycles=last - first + 1)
    dut._log.info("alltoall_ideal: %d elements per block on %d nodes in %d cycles",
                  config.max_count, nodes, last - first + 1)

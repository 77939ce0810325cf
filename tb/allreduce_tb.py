"""cocotb tests of the collective rings (``hdl.fabric.allreduce.AllReduceRing``): all-reduce,
reduce-scatter and all-gather, store-and-forward or cut-through, on a ring or a switched fabric.

Every node's results are compared, element by element and bit for bit, with the numpy
reference (``sim_models.allreduce``); int32 inputs lie near the int32 limits so that the sums
wrap around; FP32 and BF16 inputs span magnitudes that round, cancel, flush, overflow, and
include signed zeros, subnormals, infinities and NaNs. The
random test inserts idle cycles on every local input and backpressure on every local output and
runs several all-reduces back to back; the cycle test runs one with ideal streams, whose
duration must equal the analytic estimate.

Run through ``tb.test_allreduce_sim`` (pytest) and :func:`tb.launch.simulate`: the
configuration (an AllReduceConfig: the ring, the vector length and the element format) comes
from the design's
sidecar, the seed and the results file (:func:`tb.records.record_measurements`) from the run
request.
"""

import cocotb
import numpy as np

from sim_models.allreduce import INT32_MAX, INT32_MIN
from sim_models.torus_collective import estimate_of, reference_of
from sim_models.floats import encode_fp32

from .allreduce_harness import AllReduceHarness
from .harness_timing import STALL_PROBABILITY
from .checker import check_equal
from .records import record_measurements
from .run_context import design_config, seeded_rng

#: All-reduces run back to back by the random test.
ROUNDS = 3
#: Inputs lie within this distance of INT32_MIN or INT32_MAX, or anywhere, a third each.
NEAR_LIMIT = 1000


def _random_int32(rng, shape):
    """int32 values, a third each near INT32_MAX, near INT32_MIN and anywhere."""
    near_max = INT32_MAX - rng.integers(0, NEAR_LIMIT, shape)
    near_min = INT32_MIN + rng.integers(0, NEAR_LIMIT, shape)
    anywhere = rng.integers(INT32_MIN, INT32_MAX, shape, endpoint=True)
    return np.choose(rng.integers(0, 3, shape), [near_max, near_min, anywhere])


def _random_fp32_bits(rng, shape):
    """FP32 bit patterns: mostly values of either sign within 2**+-12 of each other (sums that
    round and cancel), and, one in twenty each, values near the largest finite magnitude (sums
    that overflow), near and below 2**-126 (flushed sums, subnormal inputs), signed zeros;
    one in a hundred each infinities and NaNs of random payload."""
    sign = rng.choice([-1.0, 1.0], shape)
    common = sign * (1 + rng.random(shape)) * 2.0 ** rng.integers(-12, 13, shape)
    huge = sign * (1 + rng.random(shape)) * 2.0 ** 127
    tiny = sign * (1 + rng.random(shape)) * 2.0 ** rng.integers(-130, -124, shape)
    zero = sign * 0.0
    infinite = sign * np.inf
    bits = encode_fp32(np.choose(
        np.searchsorted([0.05, 0.10, 0.15, 0.16], rng.random(shape), side="right"),
        [huge, tiny, zero, infinite, common]).astype(np.float32).astype(np.float64))
    nan = np.uint32(0x7F800001) | rng.integers(0, 1 << 22, shape, dtype=np.uint32) | \
        (rng.integers(0, 2, shape, dtype=np.uint32) << 31)
    return np.where(rng.random(shape) < 0.01, nan, bits).astype(np.int64)


def _random_vectors(rng, shape, element):
    """Inputs of an all-reduce of ``element`` vectors: int32 values or bit patterns."""
    if element == "int32":
        return _random_int32(rng, shape)
    bits = _random_fp32_bits(rng, shape)
    return bits >> 16 if element == "bf16" else bits


def _inputs(rng, config, rounds=()):
    """Random inputs of ``rounds`` collectives of ``config``: shape (*rounds, nodes, elements
    per node)."""
    estimate = estimate_of(config)
    return _random_vectors(rng, (*rounds, config.ring.nodes, estimate.inputs), config.element)


def _expected(config, inputs):
    """Every node's outputs of one collective of ``config`` on ``inputs``."""
    return reference_of(config, inputs)


async def _start(dut, test_name):
    """The configuration, a seeded generator, the estimate and a freshly reset harness for
    one test."""
    config = design_config()
    rng = seeded_rng(test_name)
    harness = AllReduceHarness(dut, config.ring.nodes, width=config.element_width,
                               signed=config.element == "int32")
    await harness.reset()
    return config, rng, estimate_of(config), harness


@cocotb.test()
async def random_traffic(dut):
    """Back-to-back all-reduces of random vectors (near the int32 limits, or floating-point
    values of every kind), with random idle cycles on the inputs and backpressure on the
    outputs."""
    config, rng, estimate, harness = await _start(dut, "random_traffic")
    ring, length = config.ring, config.vector_length
    vectors = _inputs(rng, config, (ROUNDS,))
    inputs = vectors.transpose(1, 0, 2).reshape(ring.nodes, ROUNDS * estimate.inputs)
    results, _, outputs = await harness.run(inputs, 20 * ROUNDS * estimate.cycles(), rng,
                                            ROUNDS * estimate.outputs)
    expected = np.stack([_expected(config, round_vectors) for round_vectors in vectors])
    check_equal(expected.transpose(1, 0, 2),
                results.reshape(ring.nodes, ROUNDS, estimate.outputs),
                f"{config.collective} results", ("node", "round", "element"))
    record_measurements(design_config(), "random_traffic", rounds=ROUNDS,
                        stall_probability=STALL_PROBABILITY, cycles=int(outputs.max()))
    dut._log.info("random_traffic: %d %ss of %d %s elements on %d nodes correct in %d "
                  "cycles", ROUNDS, config.collective, length, config.element, ring.nodes,
                  outputs.max())


@cocotb.test()
async def ideal_cycles(dut):
    """One all-reduce with ideal streams: correct, and exactly as long as the estimate."""
    config, rng, estimate, harness = await _start(dut, "ideal_cycles")
    vectors = _inputs(rng, config)
    results, inputs, outputs = await harness.run(vectors, 20 * estimate.cycles(),
                                                 results=estimate.outputs)
    check_equal(_expected(config, vectors), results, f"{config.collective} results",
                ("node", "element"))
    measured = int(outputs.max() - inputs.min())
    expected = estimate.cycles()
    exact = estimate.exact()  # else a lower bound (a direct collective's packets meet)
    record_measurements(design_config(), "ideal_cycles", measured_cycles=measured,
                        estimate_cycles=expected, gap_cycles=measured - expected,
                        chunk_flits=estimate.chunk_flits, step_cycles=estimate.step(),
                        estimate_exact=exact)
    dut._log.info("ideal_cycles: %d cycles measured, %d estimated (gap %+d, the estimate %s)",
                  measured, expected, measured - expected,
                  "exact" if exact else "a lower bound: packets meet")
    if exact:
        assert measured == expected, \
            f"{config.name} took {measured} cycles; the estimate is {expected}"
    else:
        assert measured >= expected, \
            f"{config.name} took {measured} cycles, under the lower bound {expected}"

"""Distributed GEMM: parameter errors, emission, the lane serializer and the numpy model."""

import gc
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from amaranth.hdl import Fragment, signed
from amaranth.sim import Simulator

from hdl.emit import generate
from hdl.fabric.gemm import DistributedGemm
from hdl.fabric.serializer import LaneSerializer
from sim_models.config import DistributedGemmConfig, FabricConfig, TileConfig
from sim_models.allreduce import allreduce_reference
from sim_models.distributed_gemm import (distributed_result, reduced_vector, result_vector,
                                        split_gemm)
from sim_models.floats import encode_fp32
from sim_models.golden import TileModel
from sim_models.program import MatmulFormat

# Constructors that raise leave components that are never elaborated.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

TILE = TileConfig(4, 4)


def gemm_config(tile, nodes, columns, **options):
    """The distributed GEMM of ``tile``s on a ring of ``nodes`` with fabric ``options``."""
    return DistributedGemmConfig(tile, FabricConfig.ring(nodes, **options), columns)


@pytest.mark.parametrize("tile", [None, (4, 4), "r4c4"])
def test_tile_type(tile):
    with pytest.raises(TypeError, match=rf"^Parameter 'tile' must be a TileConfig, "
                                        rf"not {re.escape(repr(tile))}$"):
        DistributedGemm(gemm_config(tile, 3, 4))


@pytest.mark.parametrize("nodes", [1, 65, 2.0, True])
def test_nodes_range(nodes):
    with pytest.raises(TypeError, match=rf"^Parameter 'nodes' must be an integer in 2..64, "
                                        rf"not {nodes!r}$"):
        DistributedGemm(gemm_config(TILE, nodes, 4))


@pytest.mark.parametrize("columns", [0, 513, 4.0, False])
def test_columns_range(columns):
    with pytest.raises(TypeError, match=rf"^Parameter 'columns' must be an integer in 1..512, "
                                        rf"not {columns!r}$"):
        DistributedGemm(gemm_config(TILE, 3, columns))


@pytest.mark.parametrize("nodes, flit_width, longest", [(3, 32, 11), (2, 64, 15), (5, 96, 56)])
def test_vector_too_long(nodes, flit_width, longest):
    # Packets of 15 flits, flit_width // 32 elements each, one chunk per node, 4 lanes a column.
    DistributedGemm(gemm_config(TILE, nodes, longest, flit_width=flit_width))
    with pytest.raises(ValueError, match=rf"^Parameter 'columns' must be at most {longest} for "
                                         rf"4-lane results on a {nodes}-node ring of "
                                         rf"{flit_width}-bit flits and 15-flit packets, "
                                         rf"not {longest + 1}$"):
        DistributedGemm(gemm_config(TILE, nodes, longest + 1, flit_width=flit_width))


def test_flit_too_narrow():
    with pytest.raises(ValueError, match=r"^Parameter 'flit_width' must be at least 32 to "
                                         r"carry an int32 element, not 16$"):
        DistributedGemm(gemm_config(TILE, 3, 4, flit_width=16))


def test_geometry_and_elaboration():
    gemm = DistributedGemm(gemm_config(TileConfig(2, 3), 2, 5, flit_width=64))
    assert (gemm.config.vector_length, gemm.config.columns, gemm.config.ring.nodes) == (15, 5, 2)
    assert [interface.config.vector_length for interface in gemm.interfaces] == [15, 15]
    assert gemm.config.allreduce.element == "int32"
    Fragment.get(gemm, None)


def test_emit_deterministic():
    first, second = (generate(gemm_config(TileConfig(2, 2), 2, 3)) for _ in range(2))
    assert first.verilog == second.verilog and first.port_map == second.port_map
    assert first.top == "gemm_r2c2_int8_ring2_n3"
    for module in (first.top, "fabric_router_ring2", "systolic_pe_column_r2c2_int8",
                   "systolic_psum_column_r2c2_int8"):
        assert f"module {module}(" in first.verilog
    assert sorted(first.port_map["streams"]) == sorted(
        f"{name}__{node}" for name in ("op", "stationary", "moving", "o") for node in range(2))
    for stream in first.port_map["streams"].values():
        for signal in ("valid", "ready", "payload"):
            assert stream[signal] in first.verilog


def _emit(tmp_path, hash_seed, *arguments):
    out = tmp_path / f"seed{hash_seed}"
    return subprocess.run([sys.executable, "-m", "hdl.emit", "gemm", "--rows", "2", "--cols", "2",
                           "--nodes", "2", *arguments, "--out", str(out)],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": str(hash_seed)}), out


def test_verilog_is_byte_identical_across_processes(tmp_path):
    # Different hash seeds change dict and set iteration order between processes.
    texts = []
    for hash_seed in (1, 2):
        result, out = _emit(tmp_path, hash_seed, "--columns", "3")
        assert result.returncode == 0, result.stderr
        texts.append((out / "gemm_r2c2_int8_ring2_n3.v").read_bytes())
    assert texts[0] == texts[1]
    assert generate(gemm_config(TileConfig(2, 2), 2, 3)).verilog.encode() == texts[0]


def test_command_line_rejects_long_vector(tmp_path):
    result, _ = _emit(tmp_path, 0, "--columns", "16")
    assert result.returncode == 2
    assert result.stderr == ("error: Parameter 'columns' must be at most 15 for 2-lane results "
                             "on a 2-node ring of 32-bit flits and 15-flit packets, not 16\n")


@pytest.mark.parametrize("lanes", [0, 1025, "4"])
def test_serializer_lanes(lanes):
    with pytest.raises(TypeError, match=rf"^Parameter 'lanes' must be an integer in 1..1024, "
                                        rf"not {lanes!r}$"):
        LaneSerializer(signed(32), lanes)
    # The half-built component is reported when collected: here, where the warning is ignored.
    gc.collect()


@pytest.mark.parametrize("lanes", [1, 3])
def test_serializer_order_and_rate(lanes):
    """Lanes leave in order, one per cycle with the output always ready; with the output
    stalled on odd cycles, nothing is lost or repeated."""
    serializer = LaneSerializer(signed(32), lanes)
    beats = [[-(10 * beat + lane) for lane in range(lanes)] for beat in range(4)]
    expected = [value for beat in beats for value in beat]

    async def producer(ctx):
        ctx.set(serializer.i.valid, 1)
        for beat in beats:
            ctx.set(serializer.i.payload, beat)
            await ctx.tick().until(serializer.i.ready)
        ctx.set(serializer.i.valid, 0)

    async def consumer(ctx):
        for stall in (False, True):
            taken, cycles, cycle = [], [], 0
            while len(taken) < len(expected) // 2:
                ready = not (stall and cycle % 2)
                ctx.set(serializer.o.ready, ready)
                _, _, valid, payload = await ctx.tick().sample(serializer.o.valid,
                                                               serializer.o.payload)
                if valid and ready:
                    taken.append(payload)
                    cycles.append(cycle)
                cycle += 1
            half = len(expected) // 2
            assert taken == expected[half:] if stall else taken == expected[:half]
            if not stall:
                assert cycles == list(range(half))

    simulator = Simulator(serializer)
    simulator.add_clock(1e-6)
    simulator.add_testbench(producer)
    simulator.add_testbench(consumer)
    simulator.run()


def test_result_vector_order():
    out = np.array([[1, 2, 3], [4, 5, 6]])       # M = 2, N = 3, on a 3-lane tile
    assert result_vector(out, 3).tolist() == [1, 4, 0, 2, 5, 0, 3, 6, 0]


@pytest.mark.parametrize("sizes", [[1, 4, 2], [9, 1, 3], [5, 5]])
def test_split_gemm_sums_to_the_whole_product(sizes):
    """The partial results of every node's tile program, all-reduced, give the product."""
    rng = np.random.default_rng(sizes)
    k = sum(sizes)
    stationary = rng.integers(-128, 128, (k, 3), dtype=np.int8)
    moving = rng.integers(-128, 128, (k, 5), dtype=np.int8)
    parts = split_gemm(TILE, stationary, moving, sizes)
    assert [sum(op.k for op in part.program if hasattr(op, "moving")) for part in parts] == sizes
    partials = [result_vector(TileModel(TILE).execute(part.program)[0], TILE.cols)
                for part in parts]
    for row in allreduce_reference(partials):
        np.testing.assert_array_equal(row, reduced_vector(stationary, moving, TILE.cols))


@pytest.mark.parametrize("shape, sizes, message", [
    ((3, 5, 2), [1, 2], r"Parameter 'stationary' must have at most 4 columns \(M\), one tile's "
                        r"width, not 5"),
    ((3, 4, 513), [1, 2], r"Parameter 'moving' must have at most 512 columns \(N\), one PSUM "
                          r"bank, not 513"),
    ((3, 4, 2), [3, 0], r"Parameter 'slice_sizes' must hold sizes of at least 1 that sum to K "
                        r"= 3, not \[3, 0\]"),
    ((3, 4, 2), [1, 1], r"Parameter 'slice_sizes' must hold sizes of at least 1 that sum to K "
                        r"= 3, not \[1, 1\]"),
])
def test_split_gemm_errors(shape, sizes, message):
    k, m, n = shape
    with pytest.raises(ValueError, match=f"^{message}$"):
        split_gemm(TILE, np.zeros((k, m), np.int8), np.zeros((k, n), np.int8), sizes)


def test_floating_point_tiles_all_reduce_fp32():
    bf16 = gemm_config(TileConfig(2, 2, formats=("bf16",)), 2, 3)
    assert (bf16.element, bf16.allreduce.element, bf16.allreduce.elements_per_flit) == \
        ("fp32", "fp32", 1)
    assert gemm_config(TILE, 2, 3).allreduce.element == "int32"
    Fragment.get(DistributedGemm(bf16), None)


def test_distributed_result_of_int8_is_the_exact_product():
    rng = np.random.default_rng(17)
    stationary = rng.integers(-128, 128, (11, 3), dtype=np.int8)
    moving = rng.integers(-128, 128, (11, 5), dtype=np.int8)
    parts = split_gemm(TILE, stationary, moving, [3, 6, 2])
    np.testing.assert_array_equal(distributed_result(TILE, parts),
                                  reduced_vector(stationary, moving, TILE.cols))


def test_distributed_result_of_bf16_adds_node_results_in_the_rule_order():
    """Each node's FP32 result comes from the tile model; the all-reduce adds them starting at
    the chunk's node. Node results 1, 2**-24, 2**-24 (1 squared, 2**-12 squared): the vector's
    4 elements make chunks of 2, 1 and 1 elements on a 3-node ring, so elements 0 and 1 sum
    from node 0 (1 + 2**-24, a tie to even, + 2**-24 = 1), element 2 from node 1
    (2**-24 + 2**-24 + 1 = 1 + 2**-23) and element 3 from node 2 (2**-24 + 1 + 2**-24 = 1)."""
    tile = TileConfig(1, 2, formats=("bf16",))
    values = np.array([[1.0, 1.0], [2.0 ** -12] * 2, [2.0 ** -12] * 2])  # one K row per node
    bits = (encode_fp32(values) >> 16).astype(np.uint16)
    parts = split_gemm(tile, bits, bits[:, :2], [1, 1, 1], MatmulFormat("bf16", "bf16"))
    result = distributed_result(tile, parts)
    assert result.tolist() == encode_fp32(np.array([1.0, 1.0, 1.0 + 2.0 ** -23, 1.0])).tolist()

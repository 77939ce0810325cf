"""The scaling model: peaks against the published figures, the clock test, the GEMM cycle
path, the roofline, collectives and training steps. No simulator needed."""

import random
from dataclasses import replace

import pytest

from sim_models.config import TRAINIUM2_FORMATS, TRAINIUM3_FORMATS, TileConfig
from sim_models.program import MatmulFormat
from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.characterization import (MeasuredRate, chip_rates, measured_rates,
                                                 tile_checks)
from sim_models.scaling.comparisons import compare, compare_all
from sim_models.scaling.core_cycles import _timed, core_tile, tile_cycles
from sim_models.scaling.decode import decode_step
from sim_models.scaling.gemm import chip_gemm
from sim_models.scaling.network import FabricCalibration, allreduce_seconds
from sim_models.scaling.peak import chip_peak, core_peak, with_measured_rates
from sim_models.scaling.training import training_step
from sim_models.scaling.workloads import load_workloads
from sim_models.specs import SpecError, load_specs
from sim_models.timing import tile_latency
from tb.regression import SEED, rerun_command
from samples import tile_document

SPECS = load_specs()
PUBLISHED = {figure.key: figure for figure in SPECS.published}
CALIBRATION = FabricCalibration.from_estimate()
ASSUMPTIONS = Assumptions()
WORKLOADS = load_workloads()


@pytest.mark.parametrize("key", [key for key, figure in PUBLISHED.items()
                                 if figure.quantity == "core_peak_flops"])
def test_core_peaks_equal_the_published_figures_as_rounded(key):
    # Trainium2: 79 BF16, 158 FP8, 316 sparse, 20 FP32; Trainium3: 315 MXFP8; Trainium1: 92.
    # AWS rounds either the figure itself (78.64 -> 79, 314.6 -> 315) or the BF16 figure before
    # multiplying it (2 x 79 = 158, 4 x 79 = 316); the model must give one of the two exactly.
    figure = PUBLISHED[key]
    chip = SPECS.chip(figure.subject)
    model, bf16 = (core_peak(chip, datatype) / 1e12 for datatype in (figure.datatype, "bf16"))
    assert figure.value.given in (round(model), round(bf16) * round(model / bf16, 6))


@pytest.mark.parametrize("key", ["trn3-chip-mxfp8", "trn3-gen1-ultraserver-mxfp8",
                                 "trn3-gen2-ultraserver-mxfp8"])
def test_trainium3_within_one_percent(key):
    assert compare(SPECS, PUBLISHED[key]).ratio == pytest.approx(1, abs=0.01)


@pytest.mark.parametrize("key", ["trn2-chip-fp8", "trn2-chip-bf16", "trn2-chip-sparse",
                                 "trn2-instance-fp8", "trn2-ultraserver-fp8"])
def test_trainium2_within_one_percent_once_the_gap_is_added(key):
    comparison = compare(SPECS, PUBLISHED[key])
    assert comparison.ratio < 0.99                      # the TensorE alone falls short
    assert comparison.ratio_with_gap == pytest.approx(1, abs=0.01)
    chips = 1 if comparison.figure.subject == "trn2" else \
        SPECS.system(comparison.figure.subject).chips.value
    # The gap is the same +35 TFLOPS per chip in FP8, BF16 and sparse.
    assert comparison.gap / chips == pytest.approx(35e12)


def _with_trn2_clock(specs, factor):
    chip = specs.chip("trn2")
    clock = replace(chip.core.clock, value=chip.core.clock.value * factor)
    faster = replace(chip, core=replace(chip.core, clock=clock))
    return replace(specs, chips={**specs.chips, "trn2": faster})


def test_the_clock_moves_every_derived_figure_and_no_published_one():
    faster = _with_trn2_clock(SPECS, 1.25)
    moved = 0
    for before, after in zip(compare_all(SPECS), compare_all(faster)):
        assert after.published == before.published
        subject = before.figure.subject
        trn2 = subject == "trn2" or subject in SPECS.systems and \
            SPECS.system(subject).chip == "trn2"
        if trn2 and before.figure.quantity in ("peak_flops", "core_peak_flops"):
            assert after.model == pytest.approx(1.25 * before.model)
            moved += 1
        else:
            assert after.model == before.model
    assert moved >= 20
    slow, fast = (training_step(specs, specs.system("trn2-instance"), WORKLOADS["llama3-8b"],
                                CALIBRATION, ASSUMPTIONS) for specs in (SPECS, faster))
    assert fast.compute_seconds < slow.compute_seconds


#: Tiles the periodic extension is checked on: the int8 core, odd bank counts, and a deep MAC
#: whose fill and drain (13 stages) last longer than a period of its shallow PSUM banks.
EXTENSION_TILES = (TileConfig(128, 128), TileConfig(16, 16, psum_banks=3, psum_depth=40),
                   TileConfig(4, 4, psum_banks=5, psum_depth=16),
                   TileConfig(8, 8, psum_banks=2, psum_depth=4, formats=("bf16",), pe_stages=13))


def test_periodic_extension_equals_full_timing(request):
    print(f"seed {SEED}; rerun: {rerun_command(request)}")
    rng = random.Random(SEED)
    for config in EXTENSION_TILES:
        for _ in range(6):
            m = rng.randint(40 * config.cols, 60 * config.cols)
            k = rng.randint(12 * config.rows, 20 * config.rows)
            n = rng.randint(1, 3 * config.psum_depth)
            assert tile_cycles(config, m, k, n) == _timed(config, m, k, n), (config, m, k, n)


def test_periodic_extension_along_n_equals_full_timing(request):
    print(f"seed {SEED}; rerun: {rerun_command(request)}")
    rng = random.Random(SEED)
    for config in EXTENSION_TILES:
        for _ in range(4):
            m = rng.randint(1, 3 * config.cols)
            k = rng.randint(1, 3 * config.rows)
            n = rng.randint(40 * config.psum_depth, 60 * config.psum_depth)
            assert tile_cycles(config, m, k, n) == _timed(config, m, k, n), (config, m, k, n)


def test_tile_cycles_rejects_an_empty_dimension():
    with pytest.raises(TypeError, match=r"^Parameter 'k' must be an integer in 1\.\.\d+, "
                                        r"not 0$"):
        tile_cycles(TileConfig(4, 4), 4, 0, 4)


def test_roofline_places_decode_under_memory_and_large_gemms_under_compute():
    trn2 = SPECS.chip("trn2")
    decode = chip_gemm(trn2, 8192, 8192, 1, "bf16")
    assert decode.bound == "memory" and decode.utilization < 0.01
    large = chip_gemm(trn2, 8192, 8192, 8192, "bf16")
    assert large.bound == "compute" and large.utilization > 0.99
    # FP8 double-row halves the compute time of a compute-bound GEMM.
    fp8 = chip_gemm(trn2, 8192, 8192, 8192, "fp8")
    assert fp8.compute_seconds == pytest.approx(large.compute_seconds / 2, rel=0.01)
    assert chip_peak(trn2, "fp8") == 2 * chip_peak(trn2, "bf16")


def test_unknown_datatype_is_named():
    with pytest.raises(SpecError, match=r"^trn2: datatype 'fp4' has no peak; known: .*fp8"):
        chip_peak(SPECS.chip("trn2"), "fp4")


def test_allreduce_grows_with_size_and_scale():
    instance, ultraserver = SPECS.system("trn2-instance"), SPECS.system("trn2-ultraserver")
    cluster = SPECS.system("trn2-ultracluster")
    single = replace(instance, chips=replace(instance.chips, value=1))
    assert allreduce_seconds(SPECS, single, 1e9, CALIBRATION, ASSUMPTIONS) == 0
    times = [allreduce_seconds(SPECS, system, 1e9, CALIBRATION, ASSUMPTIONS)
             for system in (instance, ultraserver, cluster)]
    assert 0 < times[0] < times[1] < times[2]
    assert allreduce_seconds(SPECS, instance, 2e9, CALIBRATION, ASSUMPTIONS) > times[0]


def test_training_and_decode_steps():
    instance, ultraserver = SPECS.system("trn2-instance"), SPECS.system("trn2-ultraserver")
    step = training_step(SPECS, ultraserver, WORKLOADS["llama3-70b"], CALIBRATION, ASSUMPTIONS)
    assert step.fits and step.plan.tp * step.plan.pp > 1 and step.plan.dp > 1
    assert 0 < step.mfu <= 1
    exposed = training_step(SPECS, ultraserver, WORKLOADS["llama3-70b"], CALIBRATION,
                            replace(ASSUMPTIONS, overlap_with_backward=False))
    assert exposed.dp_exposed_seconds == exposed.dp_seconds > step.dp_exposed_seconds
    assert exposed.seconds == pytest.approx(exposed.slots * exposed.slot_seconds
                                            + exposed.dp_seconds + exposed.optimizer_seconds)
    one, many = (decode_step(SPECS, instance, WORKLOADS["llama3-70b"], batch, CALIBRATION,
                             ASSUMPTIONS) for batch in (1, 64))
    assert many.tokens_per_second > 10 * one.tokens_per_second
    # Batch 1 is HBM-bound: no faster than reading the weights once at the HBM bandwidth.
    weights = WORKLOADS["llama3-70b"].parameters * 2 / instance.chips.value
    assert one.seconds > weights / SPECS.chip("trn2").hbm_bandwidth.value


def test_switch_allreduce_is_a_direct_exchange():
    # Trn3 Gen1: 64 chips on a switch. Two steps of two hops each: the RTL's 5-cycle step
    # plus one more hop of 2 cycles at 2.4 GHz, plus the DMA start; then 2 x 63/64 of the
    # bytes through the chip's 2,048 GiB/s port.
    system = SPECS.system("trn3-gen1-ultraserver")
    step = 7 / 2.4e9 + ASSUMPTIONS.dma_step_seconds
    expected = 2 * step + 2 * 63 / 64 * 1e9 / (2048 * 2 ** 30)
    assert allreduce_seconds(SPECS, system, 1e9, CALIBRATION, ASSUMPTIONS) == \
        pytest.approx(expected)
    # A fabric clocked at 1 GHz instead of the TensorE clock: only the hop latency changes.
    slower = replace(ASSUMPTIONS, fabric_clock_hz=1e9)
    assert allreduce_seconds(SPECS, system, 1e9, CALIBRATION, slower) == \
        pytest.approx(expected + 2 * (7 / 1e9 - 7 / 2.4e9))


def test_measured_rates_are_the_steady_state_difference_of_two_gemms(tmp_path):
    config = TileConfig(4, 4, psum_banks=2, psum_depth=512, formats=TRAINIUM2_FORMATS)
    double_row, bf16 = MatmulFormat("fp8_e5m2", "fp8_e5m2", True), MatmulFormat("bf16", "bf16")
    checks = tile_checks(tile_document({config: [
        (4, 16, 512, double_row), (4, 32, 512, double_row), (4, 8, 512, bf16),
        (4, 16, 256, bf16)]}, tmp_path))
    rates = measured_rates(checks, "trn2")
    # FP8 double-row: 2 x 16 x 512 more MACs in 2 x 512 more cycles on 16 PEs; BF16 lacks its
    # second GEMM (N = 256 is not a steady-state pair).
    assert set(rates) == {"fp8"} and rates["fp8"].value == 2
    assert rates["fp8"].shapes == ((4, 16, 512), (4, 32, 512))
    # A run the models did not reproduce is not a measurement.
    slower = replace(checks[1], rtl_cycles=checks[1].rtl_cycles + 512)
    assert measured_rates((checks[0], slower), "trn2") == {}
    # Nor does a rate measured on Trainium2's tile stand for Trainium3's.
    assert measured_rates(checks, "trn3") == {}


def test_measured_rates_replace_trainium2s_spec_values_in_its_peaks():
    specs = load_specs()
    measured = with_measured_rates(specs, {"trn2": {"fp8": MeasuredRate("fp8", 1.5, "r4c4",
                                                                        ())}})
    trn2, measured_trn2 = specs.chip("trn2"), measured.chip("trn2")
    assert core_peak(measured_trn2, "fp8") == core_peak(trn2, "fp8") * 0.75
    assert core_peak(measured_trn2, "bf16") == core_peak(trn2, "bf16")
    assert measured.chip("trn1") == specs.chip("trn1")
    assert measured.chip("trn3") == specs.chip("trn3")
    assert "spec data 2 [N-T2]" in measured_trn2.core.macs_per_pe_per_cycle["fp8"].note


def test_each_chips_rates_come_from_its_own_tile(tmp_path):
    """Trainium3's tile (MX mode) measures MXFP8 and MXFP4 at 4 and BF16 at 1 for Trainium3
    alone; Trainium2's tile measures Trainium2's; each replaces only its own chip's spec."""
    trn3 = TileConfig(8, 8, psum_banks=2, psum_depth=512, formats=TRAINIUM3_FORMATS)
    trn2 = TileConfig(4, 4, psum_banks=2, psum_depth=512, formats=TRAINIUM2_FORMATS)
    e4m3fn, fp4 = (MatmulFormat(name, name, mx=True) for name in ("fp8_e4m3fn", "fp4_e2m1"))
    bf16 = MatmulFormat("bf16", "bf16")
    checks = tile_checks(tile_document({
        trn3: [(8, 64, 512, e4m3fn), (8, 128, 512, e4m3fn), (8, 64, 512, fp4),
               (8, 128, 512, fp4), (8, 16, 512, bf16), (8, 32, 512, bf16)],
        trn2: [(4, 8, 512, bf16), (4, 16, 512, bf16)]}, tmp_path))
    rates = chip_rates(checks)
    assert {chip: {datatype: rate.value for datatype, rate in by_datatype.items()}
            for chip, by_datatype in rates.items()} == {
        "trn2": {"bf16": 1}, "trn3": {"bf16": 1, "mxfp8": 4, "mxfp4": 4}}
    assert rates["trn3"]["mxfp8"].config == trn3.name
    assert rates["trn3"]["mxfp8"].shapes == ((8, 64, 512), (8, 128, 512))
    specs = load_specs()
    slower = {"trn3": {"mxfp8": replace(rates["trn3"]["mxfp8"], value=3.0)}}
    measured = with_measured_rates(specs, slower)
    trn3_chip = measured.chip("trn3")
    assert core_peak(trn3_chip, "mxfp8") == core_peak(specs.chip("trn3"), "mxfp8") * 0.75
    assert core_peak(trn3_chip, "mxfp4") == core_peak(specs.chip("trn3"), "mxfp4")
    assert "spec data 4 [" in trn3_chip.core.macs_per_pe_per_cycle["mxfp8"].note
    assert measured.chip("trn2") == specs.chip("trn2")


def test_the_mac_latency_of_the_characterized_tile_enters_every_gemm(tmp_path):
    """A float tile characterized at depth 4: its checks are timed at depth 4 (and match), the
    rates carry the depth, and Trainium2's core times its GEMMs with it: one block's cycles
    grow by exactly the later PSUM write of the deeper MAC."""
    config = TileConfig(4, 4, psum_depth=512, formats=("fp8_e4m3",), pe_stages=4)
    fp8 = MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True)
    checks = tile_checks(tile_document({config: [(4, 16, 512, fp8), (4, 32, 512, fp8)]},
                                       tmp_path))
    assert all(check.matches and check.pe_stages == 4 for check in checks)
    rates = measured_rates(checks, "trn2")
    assert rates["fp8"].pe_stages == 4
    specs = load_specs()
    trn2 = with_measured_rates(specs, {"trn2": rates}).chip("trn2")
    assert trn2.core.pe_stages.value == 4 and specs.chip("trn2").core.pe_stages is None
    deep, shallow = core_tile(trn2.core), core_tile(specs.chip("trn2").core)
    assert (deep.pe_stages, shallow.pe_stages) == (4, 1)
    late = tile_latency(deep).psum_write(deep.cols - 1) - \
        tile_latency(shallow).psum_write(shallow.cols - 1)
    assert late > 0 and tile_cycles(deep, 128, 128, 512) - \
        tile_cycles(shallow, 128, 128, 512) == late
